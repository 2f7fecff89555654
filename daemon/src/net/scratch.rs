//! Reading frames without a read buffer per connection.
//!
//! Each thread that polls sockets has one scratch buffer of [`READ_CHUNK`] bytes. A read polls
//! the socket into it and pushes what arrived into the connection's [`FrameDecoder`] in the same
//! poll, so the scratch is borrowed only inside one synchronous `poll_read`, never across an
//! await, and an idle connection holds no read buffer at all (the decoder frees its own when it
//! has handed out every whole frame). A thousand idle relay sessions then cost no 4 MiB of
//! buffers, only the bytes of frames still in progress.

use crate::proto::frame::FrameDecoder;
use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// Bytes read from a socket at a time: one scratch buffer of this size per polling thread
/// (msmd has one async worker), whatever the number of connections.
pub const READ_CHUNK: usize = 4 * 1024;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// Reads once from `r` into `dec`, at most what the decoder has room for; returns the number
/// of bytes read, 0 at the end of the stream. Cancel-safe: the bytes are in `dec` as soon as
/// the read completes, in the same poll, so dropping the future never loses any.
pub async fn read_into<R: AsyncRead + Unpin>(
    r: &mut R,
    dec: &mut FrameDecoder,
) -> io::Result<usize> {
    poll_fn(|cx| poll_read_into(Pin::new(&mut *r), dec, cx)).await
}

fn poll_read_into<R: AsyncRead>(
    mut r: Pin<&mut R>,
    dec: &mut FrameDecoder,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let room = dec.room().min(READ_CHUNK);
    let shared = SCRATCH.try_with(|cell| {
        let mut buf = cell.try_borrow_mut().ok()?;
        Some(poll_once(r.as_mut(), &mut *dec, &mut buf[..room], &mut *cx))
    });
    match shared {
        Ok(Some(p)) => p,
        // the scratch is in use further up this poll, or this thread is ending: a buffer of
        // its own for this one read
        _ => poll_once(r, dec, &mut vec![0; room], cx),
    }
}

fn poll_once<R: AsyncRead>(
    r: Pin<&mut R>,
    dec: &mut FrameDecoder,
    buf: &mut [u8],
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let mut rb = ReadBuf::new(buf);
    ready!(r.poll_read(cx, &mut rb))?;
    let got = rb.filled();
    dec.push(got)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Poll::Ready(Ok(got.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::frame::{self, FrameType};
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn frames_arrive_whole_and_the_decoder_holds_nothing_between_them() {
        let (mut a, mut b) = tokio::io::duplex(64);
        let mut wire = Vec::new();
        for i in 0..50u8 {
            frame::encode(FrameType::Message, &vec![i; 300], &mut wire).unwrap();
        }
        let send = tokio::spawn(async move { a.write_all(&wire).await });
        let mut dec = FrameDecoder::new();
        let mut got = 0u8;
        while got < 50 {
            while let Some(f) = dec.next_frame().unwrap() {
                assert_eq!(f.payload, vec![got; 300]);
                got += 1;
            }
            if dec.pending() == 0 {
                assert_eq!(dec.capacity(), 0, "no buffer while no frame is in progress");
            }
            if got < 50 {
                assert!(read_into(&mut b, &mut dec).await.unwrap() > 0);
            }
        }
        send.await.unwrap().unwrap();
        assert_eq!(
            read_into(&mut b, &mut dec).await.unwrap(),
            0,
            "end of stream"
        );
    }

    #[tokio::test]
    async fn a_cancelled_read_loses_nothing() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let mut dec = FrameDecoder::new();
        // nothing to read: the read is pending, then dropped by the timeout
        let t = tokio::time::timeout(
            std::time::Duration::from_millis(10),
            read_into(&mut b, &mut dec),
        );
        assert!(t.await.is_err());
        let mut wire = Vec::new();
        frame::encode(FrameType::Ping, b"x", &mut wire).unwrap();
        a.write_all(&wire).await.unwrap();
        read_into(&mut b, &mut dec).await.unwrap();
        assert_eq!(dec.next_frame().unwrap().unwrap().payload, b"x");
    }
}
