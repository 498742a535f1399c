//! A bounded buffer for a run's combined output.

/// Collects output up to a byte limit and notes how much was dropped.
#[derive(Debug)]
pub(crate) struct OutputBuffer {
    bytes: Vec<u8>,
    limit: usize,
    dropped: usize,
}

impl OutputBuffer {
    /// A buffer keeping at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            bytes: Vec::new(),
            limit,
            dropped: 0,
        }
    }

    /// Appends `chunk`, dropping what exceeds the limit.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        let room = self.limit.saturating_sub(self.bytes.len());
        let take = room.min(chunk.len());
        self.bytes.extend_from_slice(&chunk[..take]);
        self.dropped += chunk.len() - take;
    }

    /// The text collected (lossy UTF-8), with a note when output was cut.
    pub(crate) fn into_string(self) -> String {
        let mut text = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.dropped > 0 {
            text.push_str(&format!(
                "\n[output truncated: {} bytes dropped]\n",
                self.dropped
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_the_limit_and_notes_the_rest() {
        let mut b = OutputBuffer::new(4);
        b.push(b"ab");
        b.push(b"cdef");
        assert_eq!(
            b.into_string(),
            "abcd\n[output truncated: 2 bytes dropped]\n"
        );
    }
}
