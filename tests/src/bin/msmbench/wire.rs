//! The link protocol as the load generator speaks it: an async framed connection, both ends of
//! the handshake, and byte counters (what crossed the socket, frame headers included).
//!
//! The generator proves a real node key in every handshake, so the node under test does all the
//! work it does for a real peer; the generator itself does not check the node's Auth signature
//! (it is not under test).

use msmd::proto::frame::{self, FrameDecoder, OwnedFrame};
use msmd::proto::link::{self as wire, Hello, Role};
use msmd::proto::{FrameType, NodeKey};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// One framed link connection with byte counters.
pub struct Conn {
    stream: TcpStream,
    dec: FrameDecoder,
    buf: Box<[u8; READ_CHUNK]>,
    out: Vec<u8>,
    /// Bytes read from the socket so far.
    pub bytes_in: u64,
    /// Bytes written to the socket so far.
    pub bytes_out: u64,
}

fn proto_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl Conn {
    /// Wraps a connected socket (Nagle off, as msmd does on its side).
    pub fn new(stream: TcpStream) -> Conn {
        let _ = stream.set_nodelay(true);
        Conn {
            stream,
            dec: FrameDecoder::new(),
            buf: Box::new([0u8; READ_CHUNK]),
            out: Vec::new(),
            bytes_in: 0,
            bytes_out: 0,
        }
    }

    /// Queues a frame; [`Conn::flush`] sends everything queued in one write.
    pub fn queue(&mut self, kind: FrameType, payload: &[u8]) -> io::Result<()> {
        frame::encode(kind, payload, &mut self.out).map_err(proto_err)
    }

    /// Sends every queued frame.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.bytes_out += self.out.len() as u64;
            self.out.clear();
        }
        Ok(())
    }

    /// Sends one frame now.
    pub async fn send(&mut self, kind: FrameType, payload: &[u8]) -> io::Result<()> {
        self.queue(kind, payload)?;
        self.flush().await
    }

    /// A frame already buffered, if any.
    pub fn buffered(&mut self) -> io::Result<Option<OwnedFrame>> {
        self.dec.next_frame().map_err(proto_err)
    }

    /// The next frame; end of stream is `UnexpectedEof`.
    pub async fn recv(&mut self) -> io::Result<OwnedFrame> {
        loop {
            if let Some(f) = self.buffered()? {
                return Ok(f);
            }
            let room = self.dec.room().min(READ_CHUNK);
            let n = self.stream.read(&mut self.buf[..room]).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.bytes_in += n as u64;
            self.dec.push(&self.buf[..n]).map_err(proto_err)?;
        }
    }

    /// Runs the handshake as `domain` with node key `key`, on either end.
    pub async fn handshake(&mut self, role: Role, domain: &str, key: &NodeKey) -> io::Result<()> {
        let mut nonce = [0u8; 32];
        getrandom(&mut nonce);
        let mine = wire::encode(&Hello::new(domain, key, nonce));
        self.send(FrameType::Hello, &mine).await?;
        let theirs = self.expect(FrameType::Hello).await?;
        let (dialer, listener) = match role {
            Role::Dialer => (&mine, &theirs.payload),
            Role::Listener => (&theirs.payload, &mine),
        };
        let auth = wire::auth(key, role, dialer, listener);
        self.send(FrameType::Auth, &auth).await?;
        self.expect(FrameType::Auth).await?;
        Ok(())
    }

    async fn expect(&mut self, kind: FrameType) -> io::Result<OwnedFrame> {
        let f = self.recv().await?;
        if f.kind != kind {
            let why = match f.kind {
                FrameType::Close => wire::decode::<wire::Close>("close", &f.payload)
                    .map(|c| c.reason)
                    .unwrap_or_default(),
                k => format!("{k:?}"),
            };
            return Err(io::Error::other(format!("expected {kind:?}, got: {why}")));
        }
        Ok(f)
    }
}

/// Fills `buf` with random bytes (nonces only; the generator's keys come from `NodeKey`).
fn getrandom(buf: &mut [u8]) {
    let k = NodeKey::generate().expect("random key");
    let bytes = k.to_bytes();
    for (b, r) in buf.iter_mut().zip(bytes.iter().cycle()) {
        *b = *r;
    }
}

/// Dials `addr` and runs the handshake as `domain`.
pub async fn dial(addr: std::net::SocketAddr, domain: &str, key: &NodeKey) -> io::Result<Conn> {
    let mut c = Conn::new(TcpStream::connect(addr).await?);
    c.handshake(Role::Dialer, domain, key).await?;
    Ok(c)
}
