use std::io::Read;
use std::io::Result as IoResult;
use std::sync::mpsc::channel;
use std::sync::mpsc::{Receiver, Sender};

/// A `Reader` that reads exactly the number of bytes from a sub-reader.
///
/// If the limit is reached, it returns EOF. If the limit is not reached
/// when the destructor is called, the remaining bytes will be read and
/// thrown away.
pub struct EqualReader<R>
where
    R: Read,
{
    reader: R,
    size: usize,
    last_read_signal: Sender<IoResult<()>>,
}

impl<R> EqualReader<R>
where
    R: Read,
{
    pub fn new(reader: R, size: usize) -> (EqualReader<R>, Receiver<IoResult<()>>) {
        let (tx, rx) = channel();

        let r = EqualReader {
            reader,
            size,
            last_read_signal: tx,
        };

        (r, rx)
    }
}

impl<R> Read for EqualReader<R>
where
    R: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        if self.size == 0 {
            return Ok(0);
        }

        let buf = if buf.len() < self.size {
            buf
        } else {
            &mut buf[..self.size]
        };

        match self.reader.read(buf) {
            Ok(len) => {
                self.size -= len;
                Ok(len)
            }
            err @ Err(_) => err,
        }
    }
}

/// msm patch: most bytes of an unread body drained when the reader is dropped. Past it the
/// drain stops and reports an error, and the connection must close: upstream allocated the
/// whole remaining length at once (`vec![0; remaining]`), so a declared length of a terabyte
/// aborted the process.
pub const MAX_DRAIN: usize = 64 * 1024;
/// msm patch: the drain reads through a buffer of this size on the stack.
const DRAIN_STEP: usize = 1024;

impl<R> Drop for EqualReader<R>
where
    R: Read,
{
    fn drop(&mut self) {
        let mut buf = [0u8; DRAIN_STEP];
        let mut drained = 0;
        while self.size > 0 {
            if drained >= MAX_DRAIN {
                let e = std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "unread body over the drain bound",
                );
                self.last_read_signal.send(Err(e)).ok();
                return;
            }
            let step = self.size.min(DRAIN_STEP).min(MAX_DRAIN - drained);
            match self.reader.read(&mut buf[..step]) {
                Err(e) => {
                    self.last_read_signal.send(Err(e)).ok();
                    return;
                }
                Ok(0) => break,
                Ok(n) => {
                    self.size -= n;
                    drained += n;
                }
            }
        }
        self.last_read_signal.send(Ok(())).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::EqualReader;
    use std::io::Read;

    #[test]
    fn test_limit() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new("hello world".to_string().into_bytes());

        {
            let (mut equal_reader, _) = EqualReader::new(org_reader.by_ref(), 5);

            let mut string = String::new();
            equal_reader.read_to_string(&mut string).unwrap();
            assert_eq!(string, "hello");
        }

        let mut string = String::new();
        org_reader.read_to_string(&mut string).unwrap();
        assert_eq!(string, " world");
    }

    #[test]
    fn a_huge_unread_body_is_drained_to_a_bound_then_refused() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new(vec![b'x'; 2 * super::MAX_DRAIN]);
        let (equal_reader, signal) = EqualReader::new(org_reader.by_ref(), 1_000_000_000_000);
        drop(equal_reader);
        assert!(signal.recv().unwrap().is_err());
        assert_eq!(org_reader.position() as usize, super::MAX_DRAIN);
    }

    #[test]
    fn test_not_enough() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new("hello world".to_string().into_bytes());

        {
            let (mut equal_reader, _) = EqualReader::new(org_reader.by_ref(), 5);

            let mut vec = [0];
            equal_reader.read_exact(&mut vec).unwrap();
            assert_eq!(vec[0], b'h');
        }

        let mut string = String::new();
        org_reader.read_to_string(&mut string).unwrap();
        assert_eq!(string, " world");
    }
}
