//! The relay wire protocol: length-prefixed frames (pure codec, no I/O).
//!
//! Seed 002 §5.2 relays raw `[4-byte length][…]` packets to whoever connects. Here every frame is
//! `u32 length (big-endian) | kind (1 byte) | body`, at most [`MAX_FRAME`] bytes after the length, and a
//! connection must start with a [`Frame::Hello`] carrying the room token before anything is relayed.
//! The relay never sees pad material: [`Frame::Data`] carries an opaque sealed message.

use crate::error::{Error, Result};

/// Largest frame (kind byte plus body), 1 MiB.
pub const MAX_FRAME: usize = 1 << 20;
/// Longest room token.
pub const MAX_TOKEN: usize = 256;
/// Longest nickname.
pub const MAX_NICK: usize = 64;
/// Most members listed in one presence frame.
pub const MAX_MEMBERS: usize = 1024;
/// Longest error text (UTF-8 bytes). The encoder cuts longer texts at a character boundary, so
/// the decoder refuses them: every frame it accepts re-encodes to the same bytes.
pub const MAX_ERROR_TEXT: usize = 1024;

const HELLO: u8 = 1;
const WELCOME: u8 = 2;
const DATA: u8 = 3;
const PRESENCE: u8 = 4;
const ERROR: u8 = 5;

/// A room member as shown by presence: the claimed sender index and nickname (not authenticated —
/// the relay has no keys; only messages are authenticated, by the pad).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Member {
    /// Claimed sender index.
    pub sender: u16,
    /// Nickname.
    pub nick: String,
}

/// One frame of the relay protocol.
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// Client → relay, first frame: join the room that `token` admits to.
    Hello {
        /// The room token (a shared secret for admission, not for message security).
        token: Vec<u8>,
        /// The sender index the client uses.
        sender: u16,
        /// A display name.
        nick: String,
    },
    /// Relay → client: admitted.
    Welcome,
    /// Either way: an opaque sealed message to forward to the other room members.
    Data(Vec<u8>),
    /// Relay → client: who is in the room now.
    Presence(Vec<Member>),
    /// Relay → client: why the connection is being closed (UTF-8, at most [`MAX_ERROR_TEXT`]
    /// bytes).
    Error(String),
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Frame::Hello { sender, nick, .. } => f
                .debug_struct("Hello")
                .field("token", &"<secret>")
                .field("sender", sender)
                .field("nick", nick)
                .finish(),
            Frame::Welcome => f.write_str("Welcome"),
            Frame::Data(d) => write!(f, "Data({} bytes)", d.len()),
            Frame::Presence(m) => f.debug_tuple("Presence").field(m).finish(),
            Frame::Error(e) => f.debug_tuple("Error").field(e).finish(),
        }
    }
}

fn put_str8(out: &mut Vec<u8>, s: &str, max: usize) {
    let b = s.as_bytes();
    let n = b.len().min(max);
    // Cut on a character boundary.
    let n = (0..=n).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
    out.push(n as u8);
    out.extend_from_slice(&b[..n]);
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(Error::malformed("frame", "body too short"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn str8(&mut self, max: usize) -> Result<String> {
        let n = usize::from(self.u8()?);
        if n > max {
            return Err(Error::malformed("frame", "string too long"));
        }
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| Error::malformed("frame", "string is not UTF-8"))
    }
    fn end(&self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::malformed("frame", "trailing bytes"))
        }
    }
}

impl Frame {
    /// Encodes the frame with its length prefix. Over-long strings are cut to their limits.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        match self {
            Frame::Hello {
                token,
                sender,
                nick,
            } => {
                body.push(HELLO);
                let n = token.len().min(MAX_TOKEN);
                body.extend_from_slice(&(n as u16).to_be_bytes());
                body.extend_from_slice(&token[..n]);
                body.extend_from_slice(&sender.to_be_bytes());
                put_str8(&mut body, nick, MAX_NICK);
            }
            Frame::Welcome => body.push(WELCOME),
            Frame::Data(d) => {
                body.reserve(d.len() + 1);
                body.push(DATA);
                body.extend_from_slice(d);
            }
            Frame::Presence(members) => {
                body.push(PRESENCE);
                let n = members.len().min(MAX_MEMBERS);
                body.extend_from_slice(&(n as u16).to_be_bytes());
                for m in &members[..n] {
                    body.extend_from_slice(&m.sender.to_be_bytes());
                    put_str8(&mut body, &m.nick, MAX_NICK);
                }
            }
            Frame::Error(e) => {
                body.push(ERROR);
                let n = (0..=e.len().min(MAX_ERROR_TEXT))
                    .rev()
                    .find(|&i| e.is_char_boundary(i))
                    .unwrap_or(0);
                body.extend_from_slice(&e.as_bytes()[..n]);
            }
        }
        let mut out = Vec::with_capacity(body.len() + 4);
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Checks a frame's length prefix: `Err` when it exceeds [`MAX_FRAME`] or is empty.
    pub fn check_len(len: u32) -> Result<usize> {
        let n = len as usize;
        if n == 0 {
            return Err(Error::malformed("frame", "empty frame"));
        }
        if n > MAX_FRAME {
            return Err(Error::malformed(
                "frame",
                format!("{n} bytes exceeds the {MAX_FRAME}-byte limit"),
            ));
        }
        Ok(n)
    }

    /// Decodes a frame body (everything after the length prefix).
    pub fn decode_body(body: &[u8]) -> Result<Frame> {
        let mut r = Reader { buf: body };
        let kind = r.u8()?;
        let frame = match kind {
            HELLO => {
                let n = usize::from(r.u16()?);
                if n > MAX_TOKEN {
                    return Err(Error::malformed("frame", "token too long"));
                }
                let token = r.take(n)?.to_vec();
                let sender = r.u16()?;
                let nick = r.str8(MAX_NICK)?;
                Frame::Hello {
                    token,
                    sender,
                    nick,
                }
            }
            WELCOME => Frame::Welcome,
            DATA => return Ok(Frame::Data(r.buf.to_vec())),
            PRESENCE => {
                let n = usize::from(r.u16()?);
                if n > MAX_MEMBERS {
                    return Err(Error::malformed("frame", "too many members"));
                }
                let mut members = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    let sender = r.u16()?;
                    let nick = r.str8(MAX_NICK)?;
                    members.push(Member { sender, nick });
                }
                Frame::Presence(members)
            }
            ERROR => {
                // Strict: a lossy decoding could grow past the limit and re-encode differently.
                if r.buf.len() > MAX_ERROR_TEXT {
                    return Err(Error::malformed("frame", "error text too long"));
                }
                let text = String::from_utf8(r.buf.to_vec())
                    .map_err(|_| Error::malformed("frame", "error text is not UTF-8"))?;
                return Ok(Frame::Error(text));
            }
            other => {
                return Err(Error::malformed(
                    "frame",
                    format!("unknown frame kind {other}"),
                ))
            }
        };
        r.end()?;
        Ok(frame)
    }

    /// Decodes one frame from the front of `buf`: `Ok(None)` when more bytes are needed, otherwise
    /// the frame and the number of bytes it took.
    pub fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let n = Frame::check_len(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]))?;
        if buf.len() < 4 + n {
            return Ok(None);
        }
        Ok(Some((Frame::decode_body(&buf[4..4 + n])?, 4 + n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let frames = vec![
            Frame::Hello {
                token: b"room-secret".to_vec(),
                sender: 2,
                nick: "carol".into(),
            },
            Frame::Welcome,
            Frame::Data(vec![1, 2, 3]),
            Frame::Data(vec![]),
            Frame::Presence(vec![
                Member {
                    sender: 0,
                    nick: "alice".into(),
                },
                Member {
                    sender: 1,
                    nick: "bob".into(),
                },
            ]),
            Frame::Error("go away".into()),
        ];
        for f in frames {
            let wire = f.encode();
            assert_eq!(Frame::decode(&wire).unwrap(), Some((f.clone(), wire.len())));
            assert_eq!(Frame::decode(&wire[..wire.len() - 1]).unwrap(), None);
        }
    }

    #[test]
    fn rejects_oversize_and_garbage() {
        let mut big = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
        big.push(DATA);
        assert!(Frame::decode(&big).is_err());
        assert!(Frame::decode(&[0, 0, 0, 0]).is_err());
        assert!(Frame::decode(&[0, 0, 0, 1, 99]).is_err());
        assert!(Frame::decode(&[0, 0, 0, 2, HELLO, 0]).is_err());
        let hello = Frame::Hello {
            token: vec![1],
            sender: 0,
            nick: "x".into(),
        }
        .encode();
        let mut trailing = hello.clone();
        trailing.push(0);
        trailing[3] += 1;
        assert!(Frame::decode(&trailing).is_err());
    }

    #[test]
    fn debug_hides_token() {
        let f = Frame::Hello {
            token: b"hunter2".to_vec(),
            sender: 0,
            nick: "a".into(),
        };
        assert!(!format!("{f:?}").contains("hunter2"));
    }
}
