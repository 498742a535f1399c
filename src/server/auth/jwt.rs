//! JWT access tokens (RFC 9068): the signature against the issuer's keys ([`super::jwks`]) with
//! an algorithm allow-list (RS*, PS*, ES*, EdDSA: never `none`, never HMAC), then `iss`, `aud`,
//! `exp` and `nbf` (with [`LEEWAY_SECS`] of clock skew). The checks are built once; each token
//! costs a header decode, a key lookup and one signature verification.

use jsonwebtoken::{Algorithm, AlgorithmFamily, Validation, decode, decode_header};
use serde_json::{Map, Value};

use super::TokenError;
use super::jwks::{JwksCache, Lookup};

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// The signature algorithms accepted: asymmetric ones only.
pub const ALLOWED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Checks JWT access tokens of one issuer for one audience.
pub struct JwtValidator {
    keys: JwksCache,
    /// The claim checks, one per key family (jsonwebtoken wants a validation's algorithms to
    /// be of the key's family): RSA, EC, EdDSA.
    validations: [(AlgorithmFamily, Validation); 3],
}

impl JwtValidator {
    /// Tokens of `issuer` for `audience`, signed by a key of `keys`.
    pub fn new(keys: JwksCache, issuer: &str, audience: &str) -> Self {
        let validation = |family: AlgorithmFamily| {
            let mut validation = Validation::new_for_family(family);
            validation.algorithms.retain(|alg| ALLOWED.contains(alg));
            validation.leeway = LEEWAY_SECS;
            validation.validate_exp = true;
            validation.validate_nbf = true;
            validation.validate_aud = true;
            validation.set_issuer(&[issuer]);
            validation.set_audience(&[audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            (family, validation)
        };
        Self {
            keys,
            validations: [
                validation(AlgorithmFamily::Rsa),
                validation(AlgorithmFamily::Ec),
                validation(AlgorithmFamily::Ed),
            ],
        }
    }

    /// Whether `token` has the shape of a JWS (three base64url parts) with a header we read.
    pub fn looks_like_jwt(token: &str) -> bool {
        token.split('.').count() == 3 && decode_header(token).is_ok()
    }

    /// The claims of a valid token.
    pub async fn validate(&self, token: &str) -> Result<Map<String, Value>, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        let family = header.alg.family();
        let Some((_, validation)) = self
            .validations
            .iter()
            .find(|(f, _)| *f == family && ALLOWED.contains(&header.alg))
        else {
            return Err(TokenError::Algorithm);
        };
        let keys = match self.keys.lookup(header.kid.as_deref()).await {
            Lookup::Found(keys) => keys,
            Lookup::Unknown => return Err(TokenError::UnknownKey),
        };
        let mut last = TokenError::UnknownKey;
        for key in keys
            .iter()
            .filter(|k| k.alg.is_none_or(|alg| alg == header.alg))
        {
            match decode::<Map<String, Value>>(token, &key.decoding, validation) {
                Ok(data) => return Ok(data.claims),
                Err(error) => last = TokenError::from(error),
            }
        }
        Err(last)
    }
}

impl From<jsonwebtoken::errors::Error> for TokenError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidIssuer => TokenError::Issuer,
            ErrorKind::InvalidAudience => TokenError::Audience,
            ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim.clone()),
            ErrorKind::InvalidSignature => TokenError::Signature,
            ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => TokenError::Algorithm,
            _ => TokenError::Malformed,
        }
    }
}
