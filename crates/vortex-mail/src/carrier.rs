//! Carrier mails (draft §6.2, §10.2.1): an ordinary-looking MIME message (RFC 5322, RFC 2045
//! to RFC 2049) that carries one blended vortex message as an attachment, and the reverse: the
//! decoded leaf parts of any incoming mail, for unblending.
//!
//! The draft asks for a credible, high-entropy carrier and warns against the "Dead Parrot"
//! effect (a carrier that makes no sense). We write machine-generated notifications, the kind
//! of mail that really carries opaque attachments: an encrypted backup report for PLAIN
//! (random-looking bytes are what an encrypted archive looks like), a camera upload for F5 (a
//! photo). Subjects, numbers, names and sizes change from mail to mail.

use mail_parser::{MessageParser, MimeHeaders, PartType};
use rand_core::{CryptoRng, RngCore};
use tabella_vortex::wire::Blending;

use crate::error::{Error, Result};
use crate::plain::{self, Layout};

/// Who sends a carrier to whom, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addressing {
    /// The sending node's address.
    pub from: String,
    /// The next node's address.
    pub to: String,
    /// Unix seconds, for the Date header.
    pub date: u64,
}

/// The largest mail we build or scan (bytes).
pub const MAX_MAIL: usize = 32 << 20;
/// The most leaf parts of one mail we look at.
pub const MAX_PARTS: usize = 32;

fn pick<'a, R: RngCore>(items: &[&'a str], rng: &mut R) -> &'a str {
    items
        .get((rng.next_u32() as usize) % items.len().max(1))
        .copied()
        .unwrap_or("")
}

fn num<R: RngCore>(lo: u64, hi: u64, rng: &mut R) -> u64 {
    lo + rng.next_u64() % (hi - lo + 1)
}

/// `(year, month, day)` of a day count since 1970-01-01 (proleptic Gregorian; H. Hinnant,
/// "chrono-Compatible Low-Level Date Algorithms", `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// An RFC 5322 date-time in UTC (`Fri, 15 Jan 2027 08:00:00 +0000`).
pub fn rfc5322_date(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {d} {} {y} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        MONTHS[(m as usize).saturating_sub(1) % 12],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn yyyymmdd(unix: u64) -> String {
    let (y, m, d) = civil_from_days((unix / 86_400) as i64);
    format!("{y:04}{m:02}{d:02}")
}

fn domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("localhost", |(_, d)| d)
}

fn hex<R: RngCore>(bytes: usize, rng: &mut R) -> String {
    let mut b = vec![0u8; bytes];
    rng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Base64 (RFC 4648 §4) in lines of 76 characters ended by CRLF (RFC 2045 §6.8).
pub fn base64_lines(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 38 + 8);
    let mut line = 0;
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
        line += 4;
        if line == 76 {
            out.push_str("\r\n");
            line = 0;
        }
    }
    if line > 0 {
        out.push_str("\r\n");
    }
    out
}

/// The attachment (name, MIME type, bytes) and the text of the mail around it.
struct Content {
    subject: String,
    text: String,
    name: String,
    mime: &'static str,
    bytes: Vec<u8>,
}

fn plain_content<R: RngCore + CryptoRng>(
    vortex: &[u8],
    offset: u32,
    date: u64,
    rng: &mut R,
) -> Result<Content> {
    // What sits in front of the chain is the archive's "header", after it a random trailer:
    // both random, as the rest of an encrypted archive is.
    let mut head = vec![0u8; offset as usize];
    rng.fill_bytes(&mut head);
    let mut tail = vec![0u8; num(16, 700, rng) as usize];
    rng.fill_bytes(&mut tail);
    let bytes = plain::blend(&head, vortex, &tail, &Layout::default(), rng)?;
    let host = pick(&["files", "nas", "db", "web", "srv", "mail", "backup"], rng);
    let job = format!("{host}-{:02}", num(1, 40, rng));
    let files = num(120, 90_000, rng);
    let changed = num(1, files.min(4000), rng);
    let subject = pick(
        &[
            "Backup report",
            "Nightly backup finished",
            "Backup job completed",
            "Incremental backup",
        ],
        rng,
    );
    let text = format!(
        "Backup job \"{job}\" finished without errors.\r\n\
         \r\n\
         Files scanned:   {files}\r\n\
         Files changed:   {changed}\r\n\
         Archive size:    {} bytes\r\n\
         Encryption:      AES-256\r\n\
         \r\n\
         The encrypted incremental archive is attached. Keep it with the previous ones;\r\n\
         it can only be restored together with them.\r\n\
         \r\n\
         -- \r\n\
         This message was generated automatically. Please do not reply.\r\n",
        bytes.len()
    );
    Ok(Content {
        subject: format!("{subject}: {job} ({})", yyyymmdd(date)),
        text,
        name: format!("{job}-{}-{:04}.inc.enc", yyyymmdd(date), num(0, 9999, rng)),
        mime: "application/octet-stream",
        bytes,
    })
}

fn f5_content<R: RngCore + CryptoRng>(
    vortex: &[u8],
    passphrase: &[u8],
    date: u64,
    rng: &mut R,
) -> Result<Content> {
    // A fresh image for every message, embedded at its first compression (never recompressed:
    // see crate::f5 on the calibration attack).
    let cover = crate::f5::carrier_for(vortex.len(), rng)?;
    let bytes = crate::f5::embed(&cover, vortex, passphrase)?;
    let n = num(1000, 9999, rng);
    let camera = pick(
        &[
            "Pixel 8",
            "iPhone 15",
            "Galaxy S24",
            "Moto g84",
            "Xperia 10 V",
        ],
        rng,
    );
    let text = format!(
        "1 new photo was uploaded from your {camera}.\r\n\r\n\
         File:     IMG_{}_{n}.jpg\r\n\
         Size:     {} KB\r\n\
         Album:    Camera uploads\r\n\r\n\
         You receive this message because automatic upload notifications are on.\r\n",
        yyyymmdd(date),
        bytes.len().div_ceil(1024)
    );
    Ok(Content {
        subject: format!("New photo in Camera uploads ({})", yyyymmdd(date)),
        text,
        name: format!("IMG_{}_{n}.jpg", yyyymmdd(date)),
        mime: "image/jpeg",
        bytes,
    })
}

/// A carrier mail for `vortex` blended as `blending`, with CRLF line ends.
pub fn compose<R: RngCore + CryptoRng>(
    addressing: &Addressing,
    vortex: &[u8],
    blending: &Blending,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let content = match blending {
        Blending::Plain { offset } => plain_content(vortex, *offset, addressing.date, rng)?,
        Blending::F5 { passphrase } => f5_content(vortex, passphrase, addressing.date, rng)?,
    };
    for (what, s) in [("from", &addressing.from), ("to", &addressing.to)] {
        if s.is_empty() || !s.is_ascii() || s.contains(['\r', '\n', '<', '>', ' ']) {
            return Err(Error::BadParameters(format!("{what} address {s:?}")));
        }
    }
    let boundary = format!("=_{}", hex(12, rng));
    let mut m = String::with_capacity(content.bytes.len() * 4 / 3 + 2048);
    m.push_str(&format!("From: {}\r\n", addressing.from));
    m.push_str(&format!("To: {}\r\n", addressing.to));
    m.push_str(&format!("Subject: {}\r\n", content.subject));
    m.push_str(&format!("Date: {}\r\n", rfc5322_date(addressing.date)));
    m.push_str(&format!(
        "Message-ID: <{}.{}@{}>\r\n",
        addressing.date,
        hex(8, rng),
        domain(&addressing.from)
    ));
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str(&format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
    ));
    m.push_str("This is a multi-part message in MIME format.\r\n\r\n");
    m.push_str(&format!("--{boundary}\r\n"));
    m.push_str("Content-Type: text/plain; charset=us-ascii\r\n");
    m.push_str("Content-Transfer-Encoding: 7bit\r\n\r\n");
    m.push_str(&content.text);
    m.push_str(&format!("\r\n--{boundary}\r\n"));
    m.push_str(&format!(
        "Content-Type: {}; name=\"{}\"\r\n",
        content.mime, content.name
    ));
    m.push_str(&format!(
        "Content-Disposition: attachment; filename=\"{}\"\r\n",
        content.name
    ));
    m.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
    m.push_str(&base64_lines(&content.bytes));
    m.push_str(&format!("\r\n--{boundary}--\r\n"));
    if m.len() > MAX_MAIL {
        return Err(Error::TooLarge {
            capacity: MAX_MAIL,
            needed: m.len(),
        });
    }
    Ok(m.into_bytes())
}

/// One decoded leaf part of a mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// `type/subtype` in lower case (`text/plain` when the part has none).
    pub content_type: String,
    /// The decoded content.
    pub bytes: Vec<u8>,
}

impl Part {
    /// True for a JPEG (by type or by its SOI marker).
    pub fn is_jpeg(&self) -> bool {
        self.content_type == "image/jpeg" || self.bytes.starts_with(&[0xFF, 0xD8, 0xFF])
    }
}

/// The decoded leaf parts of `mail` (text, attachments, inline parts, the parts of attached
/// messages), at most [`MAX_PARTS`]. The draft says every part MUST be tested (§6.2).
pub fn parts(mail: &[u8]) -> Result<Vec<Part>> {
    if mail.len() > MAX_MAIL {
        return Err(Error::TooLarge {
            capacity: MAX_MAIL,
            needed: mail.len(),
        });
    }
    let message = MessageParser::default()
        .parse(mail)
        .ok_or_else(|| Error::malformed("mail", "no headers"))?;
    let mut out = Vec::new();
    collect(&message, &mut out, 0);
    Ok(out)
}

fn collect(message: &mail_parser::Message<'_>, out: &mut Vec<Part>, depth: usize) {
    for part in &message.parts {
        if out.len() >= MAX_PARTS {
            return;
        }
        let content_type = part.content_type().map_or_else(
            || "text/plain".to_string(),
            |c| match c.subtype() {
                Some(sub) => format!("{}/{}", c.ctype(), sub).to_ascii_lowercase(),
                None => c.ctype().to_ascii_lowercase(),
            },
        );
        match &part.body {
            PartType::Multipart(_) => {}
            PartType::Message(inner) => {
                if depth < 4 {
                    collect(inner, out, depth + 1);
                }
            }
            _ => out.push(Part {
                content_type,
                bytes: part.contents().to_vec(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_799_913_600),
            "Thu, 14 Jan 2027 08:00:00 +0000"
        );
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg==\r\n"),
            ("fo", "Zm8=\r\n"),
            ("foo", "Zm9v\r\n"),
            ("foob", "Zm9vYg==\r\n"),
            ("fooba", "Zm9vYmE=\r\n"),
            ("foobar", "Zm9vYmFy\r\n"),
        ] {
            assert_eq!(base64_lines(plain.as_bytes()), enc);
        }
        let long = base64_lines(&[0u8; 100]);
        assert!(long.lines().all(|l| l.len() <= 76));
    }

    #[test]
    fn carrier_round_trip_through_the_parser() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut vortex = vec![0u8; 20_000];
        rng.fill_bytes(&mut vortex);
        for offset in [0, 256] {
            let a = Addressing {
                from: "node1@vortex.test".into(),
                to: "node2@vortex.test".into(),
                date: 1_799_913_600,
            };
            let mail = compose(&a, &vortex, &Blending::Plain { offset }, &mut rng).unwrap();
            let parts = parts(&mail).unwrap();
            assert_eq!(parts.len(), 2);
            assert_eq!(parts[0].content_type, "text/plain");
            assert_eq!(parts[1].content_type, "application/octet-stream");
            assert_eq!(plain::unblend(&parts[1].bytes, offset as usize), vortex);
            // Ordinary headers, CRLF only.
            let text = String::from_utf8(mail).unwrap();
            for h in [
                "From: ",
                "To: ",
                "Date: ",
                "Message-ID: <",
                "MIME-Version: 1.0",
            ] {
                assert!(text.contains(h), "{h}");
            }
            assert!(!text.replace("\r\n", "").contains('\n'));
        }
    }

    #[test]
    fn f5_carrier_round_trip() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let mut vortex = vec![0u8; 6000];
        rng.fill_bytes(&mut vortex);
        let a = Addressing {
            from: "node1@vortex.test".into(),
            to: "node2@vortex.test".into(),
            date: 1_799_913_600,
        };
        let blending = Blending::F5 {
            passphrase: b"public words".to_vec(),
        };
        let mail = compose(&a, &vortex, &blending, &mut rng).unwrap();
        let parts = parts(&mail).unwrap();
        assert_eq!(parts[1].content_type, "image/jpeg");
        assert!(parts[1].is_jpeg());
        assert_eq!(
            crate::f5::extract(&parts[1].bytes, b"public words").unwrap(),
            vortex
        );
        let accepts = crate::unblend::Accepts {
            offsets: vec![0],
            passphrases: vec![b"other".to_vec(), b"public words".to_vec()],
        };
        let found = crate::unblend::candidates(&mail, &accepts).unwrap();
        assert!(found.contains(&vortex));
    }

    #[test]
    fn header_injection_is_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let a = Addressing {
            from: "a@b".into(),
            to: "x@y\r\nBcc: evil@z".into(),
            date: 0,
        };
        assert!(compose(&a, b"m", &Blending::default(), &mut rng).is_err());
    }

    #[test]
    fn garbage_mail_gives_no_parts_or_an_error() {
        assert!(parts(b"").is_err() || parts(b"").unwrap().is_empty());
        let r = parts(b"\xff\xfe\x00garbage without headers");
        assert!(r.is_err() || r.unwrap().len() <= MAX_PARTS);
    }
}
