//! Pad files and state files on disk: the crash-safe shell around [`crate::channel`].
//!
//! Seed 002 §5.1.1 writes its state after use, with no fsync of the directory; a crash between
//! sending and saving re-sends with the same pad bytes. Here, for every outgoing message:
//!
//! 1. the new `send_next` is written to `<pad>.state.tmp`, fsynced, renamed over `<pad>.state`, and the
//!    directory is fsynced — the reservation is durable;
//! 2. only then are the pad bytes read and the ciphertext made;
//! 3. the used pad bytes are overwritten with zeros in the pad file (and synced);
//! 4. the sealed message is returned to the caller.
//!
//! A SIGKILL before step 1 completes leaves the old state (nothing was encrypted); after it, the bytes
//! are reserved for ever, even if the message never leaves. So no pad byte is used twice.
//! A state file that is missing is an error, never a fresh start.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::channel::{after_receive, check_incoming, plan_send, ChannelState};
use crate::error::{Error, Result};
use crate::message::{open, seal, MessageHeader, Plaintext, SealedMessage, MAX_PLAINTEXT};
use crate::pad::{
    PadFileHeader, PadId, PadLayout, PadLevel, PadOffset, SenderIndex, PAD_FILE_HEADER_LEN,
};

/// File name of participant `i`'s pad in a pad directory.
pub fn pad_file_name(i: u16) -> String {
    format!("pad-{i}.ghostpad")
}

/// Path of the state file belonging to a pad file.
pub fn state_path(pad_path: &Path) -> PathBuf {
    let mut s = pad_path.as_os_str().to_owned();
    s.push(".state");
    PathBuf::from(s)
}

/// Makes a new pad set in `dir`: one pad file per participant (same random bytes from the OS CSPRNG,
/// disjoint sending regions of `total_size / participants` bytes), plus a fresh state file for each.
/// Refuses to overwrite existing files.
pub fn create_pad_set(dir: &Path, participants: u16, total_size: u64) -> Result<Vec<PathBuf>> {
    let mut id = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut id)
        .map_err(|e| Error::InvalidArgument(format!("OS random generator failed: {e}")))?;
    let region = total_size / u64::from(participants.max(1));
    let layout = PadLayout::new(PadId(id), participants, region)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let mut files = Vec::new();
    let mut paths = Vec::new();
    for i in 0..participants {
        let path = dir.join(pad_file_name(i));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                Error::io(
                    format!("creating {} (refusing to overwrite a pad)", path.display()),
                    e,
                )
            })?;
        let header = PadFileHeader {
            layout,
            owner: SenderIndex(i),
        };
        f.write_all(&header.encode())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        files.push(f);
        paths.push(path);
    }
    let mut buf = Zeroizing::new(vec![0u8; 1 << 20]);
    let mut left = layout.total_size();
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        OsRng
            .try_fill_bytes(&mut buf[..n])
            .map_err(|e| Error::InvalidArgument(format!("OS random generator failed: {e}")))?;
        for (f, p) in files.iter_mut().zip(&paths) {
            f.write_all(&buf[..n])
                .map_err(|e| Error::io(format!("writing {}", p.display()), e))?;
        }
        left -= n as u64;
    }
    for (f, p) in files.iter().zip(&paths) {
        f.sync_all()
            .map_err(|e| Error::io(format!("syncing {}", p.display()), e))?;
        let zero = vec![0; usize::from(participants)];
        persist_state(&state_path(p), &layout, &ChannelState::new(&layout), &zero)?;
    }
    sync_dir(dir)?;
    Ok(paths)
}

fn sync_dir(dir: &Path) -> Result<()> {
    let d = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(d)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(format!("syncing directory {}", d.display()), e))
}

/// Per region: everything below this offset is known to be zeroed in the pad file.
type Erased = Vec<u64>;

fn encode_state(layout: &PadLayout, state: &ChannelState, erased: &[u64]) -> String {
    let hw: Vec<String> = state.high_water.iter().map(|o| o.0.to_string()).collect();
    let er: Vec<String> = erased.iter().map(u64::to_string).collect();
    format!(
        "ghostline-state 1\npad {}\nsend_next {}\nhigh_water {}\nerased {}\n",
        layout.pad_id,
        state.send_next.0,
        hw.join(" "),
        er.join(" ")
    )
}

fn decode_state(path: &Path, text: &str, layout: &PadLayout) -> Result<(ChannelState, Erased)> {
    let bad = |reason: &str| Error::Store {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let mut lines = text.lines();
    if lines.next() != Some("ghostline-state 1") {
        return Err(bad("not a GhostLine state file (version 1)"));
    }
    let field = |line: Option<&str>, key: &str| -> Result<String> {
        line.and_then(|l| l.strip_prefix(key))
            .and_then(|l| l.strip_prefix(' ').or(Some("")))
            .map(str::to_string)
            .ok_or_else(|| bad(&format!("missing `{key}` line")))
    };
    let pad = field(lines.next(), "pad")?;
    if pad != layout.pad_id.to_string() {
        return Err(bad("state file belongs to another pad"));
    }
    let send_next = field(lines.next(), "send_next")?
        .parse::<u64>()
        .map_err(|_| bad("bad send_next"))?;
    let hw: std::result::Result<Vec<PadOffset>, _> = field(lines.next(), "high_water")?
        .split_whitespace()
        .map(|x| x.parse::<u64>().map(PadOffset))
        .collect();
    let high_water = hw.map_err(|_| bad("bad high_water"))?;
    if high_water.len() != usize::from(layout.participants) {
        return Err(bad("high_water has the wrong number of senders"));
    }
    let er: std::result::Result<Vec<u64>, _> = field(lines.next(), "erased")?
        .split_whitespace()
        .map(str::parse::<u64>)
        .collect();
    let erased = er.map_err(|_| bad("bad erased"))?;
    if erased.len() != usize::from(layout.participants) {
        return Err(bad("erased has the wrong number of senders"));
    }
    Ok((
        ChannelState {
            send_next: PadOffset(send_next),
            high_water,
        },
        erased,
    ))
}

/// Writes the state durably: temp file, fsync, rename, fsync the directory.
fn persist_state(
    path: &Path,
    layout: &PadLayout,
    state: &ChannelState,
    erased: &[u64],
) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let ctx = |what: &str| format!("{what} {}", tmp.display());
    let mut f = File::create(&tmp).map_err(|e| Error::io(ctx("creating"), e))?;
    f.write_all(encode_state(layout, state, erased).as_bytes())
        .map_err(|e| Error::io(ctx("writing"), e))?;
    f.sync_all().map_err(|e| Error::io(ctx("syncing"), e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        Error::io(
            format!("renaming {} to {}", tmp.display(), path.display()),
            e,
        )
    })?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// A message sealed by [`PadStore::seal`].
#[derive(Debug)]
pub struct Sent {
    /// The sealed message, ready for the wire.
    pub message: SealedMessage,
    /// Pad bytes left in our region.
    pub remaining: u64,
    /// Set when this message took the region below 10% or 1%.
    pub warning: Option<PadLevel>,
}

/// A message accepted by [`PadStore::open_message`].
#[derive(Debug)]
pub struct Received {
    /// Who sent it.
    pub sender: SenderIndex,
    /// Its offset in the sender's region.
    pub offset: PadOffset,
    /// The decrypted text.
    pub plaintext: Plaintext,
    /// Pad bytes skipped since the sender's previous message (0 = in order): non-zero means
    /// messages were lost, reordered or withheld.
    pub gap: u64,
}

/// One participant's pad file and state, opened for use. The pad file is locked (exclusively) while
/// open, so a second [`PadStore::open`] of the same file fails, in this process or another.
pub struct PadStore {
    pad_path: PathBuf,
    state_path: PathBuf,
    file: File,
    header: PadFileHeader,
    state: ChannelState,
    erased: Erased,
}

impl std::fmt::Debug for PadStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PadStore")
            .field("pad_path", &self.pad_path)
            .field("header", &self.header)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl PadStore {
    /// Opens a pad file and its state file (which must exist).
    pub fn open(pad_path: &Path) -> Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(pad_path)
            .map_err(|e| Error::io(format!("opening pad {}", pad_path.display()), e))?;
        // One process per pad file: two would reserve the same offsets. The kernel drops the lock
        // when the process ends, however it ends.
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => Error::Store {
                path: pad_path.to_path_buf(),
                reason: "pad file is in use by another process; close it there first".into(),
            },
            std::fs::TryLockError::Error(e) => {
                Error::io(format!("locking pad {}", pad_path.display()), e)
            }
        })?;
        let mut hb = [0u8; PAD_FILE_HEADER_LEN];
        file.read_exact(&mut hb)
            .map_err(|e| Error::io(format!("reading pad header of {}", pad_path.display()), e))?;
        let header = PadFileHeader::decode(&hb)?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(format!("reading {}", pad_path.display()), e))?
            .len();
        if len != PAD_FILE_HEADER_LEN as u64 + header.layout.total_size() {
            return Err(Error::Store {
                path: pad_path.to_path_buf(),
                reason: format!("pad file is {len} bytes, its header promises more or less"),
            });
        }
        let sp = state_path(pad_path);
        let text = std::fs::read_to_string(&sp).map_err(|e| {
            Error::io(
                format!(
                    "reading state file {} (without it the pad cannot be used safely)",
                    sp.display()
                ),
                e,
            )
        })?;
        let (state, erased) = decode_state(&sp, &text, &header.layout)?;
        let mut store = PadStore {
            pad_path: pad_path.to_path_buf(),
            state_path: sp,
            file,
            header,
            state,
            erased,
        };
        store.scrub()?;
        Ok(store)
    }

    /// Where each region's used bytes end: our `send_next`, the others' high-water marks.
    fn used_mark(&self, region: u16) -> u64 {
        if SenderIndex(region) == self.header.owner {
            self.state.send_next.0
        } else {
            self.state
                .high_water
                .get(usize::from(region))
                .map_or(0, |o| o.0)
        }
    }

    /// Erases used bytes that a crash left unerased (between persisting a state and zeroing the
    /// pad). The `erased` marks are saved with the next state write, so normally this is a no-op.
    fn scrub(&mut self) -> Result<()> {
        let layout = self.header.layout;
        let mut changed = false;
        for i in 0..layout.participants {
            let target = self.used_mark(i);
            let done = self.erased.get(usize::from(i)).copied().unwrap_or(0);
            if done < target {
                let abs = layout.absolute(SenderIndex(i), PadOffset(done), target - done)?;
                self.erase_pad(abs, target - done)?;
                if let Some(e) = self.erased.get_mut(usize::from(i)) {
                    *e = target;
                }
                changed = true;
            }
        }
        if changed {
            persist_state(&self.state_path, &layout, &self.state, &self.erased)?;
        }
        Ok(())
    }

    /// The pad set's layout.
    pub fn layout(&self) -> &PadLayout {
        &self.header.layout
    }

    /// Whose pad file this is.
    pub fn owner(&self) -> SenderIndex {
        self.header.owner
    }

    /// The current channel state.
    pub fn state(&self) -> &ChannelState {
        &self.state
    }

    /// Pad bytes `sender` has left as far as this file knows (exact for ourselves; for others, an
    /// upper bound from what we received).
    pub fn remaining(&self, sender: SenderIndex) -> u64 {
        let used = if sender == self.owner() {
            self.state.send_next
        } else {
            self.state
                .high_water
                .get(usize::from(sender.0))
                .copied()
                .unwrap_or_default()
        };
        self.layout().region_size.saturating_sub(used.0)
    }

    fn read_pad(&mut self, abs: u64, len: u64) -> Result<Zeroizing<Vec<u8>>> {
        let n = usize::try_from(len).map_err(|_| Error::InvalidArgument("too long".into()))?;
        let mut buf = Zeroizing::new(vec![0u8; n]);
        let path = &self.pad_path;
        self.file
            .seek(SeekFrom::Start(PAD_FILE_HEADER_LEN as u64 + abs))
            .and_then(|_| self.file.read_exact(&mut buf))
            .map_err(|e| Error::io(format!("reading pad {}", path.display()), e))?;
        Ok(buf)
    }

    fn erase_pad(&mut self, abs: u64, len: u64) -> Result<()> {
        let path = &self.pad_path;
        let zeros = [0u8; 8192];
        let mut left = len;
        self.file
            .seek(SeekFrom::Start(PAD_FILE_HEADER_LEN as u64 + abs))
            .map_err(|e| Error::io(format!("erasing pad {}", path.display()), e))?;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            self.file
                .write_all(&zeros[..n])
                .map_err(|e| Error::io(format!("erasing pad {}", path.display()), e))?;
            left -= n as u64;
        }
        self.file
            .sync_data()
            .map_err(|e| Error::io(format!("syncing pad {}", path.display()), e))
    }

    /// Reserves pad bytes (durably), encrypts and authenticates `plaintext`, erases the used pad
    /// bytes, and returns the sealed message. Refuses when our region is exhausted.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Sent> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(Error::MessageTooLong {
                len: plaintext.len(),
                max: MAX_PLAINTEXT,
            });
        }
        let layout = self.header.layout;
        let owner = self.header.owner;
        let plan = plan_send(&layout, owner, &self.state, plaintext.len())?;
        // Bytes before `plan.offset` (up to a chunk boundary) are skipped: erase them too.
        let skipped_from = self.state.send_next;
        let mut next = self.state.clone();
        next.send_next = PadOffset(plan.offset.0 + plan.consumption);
        // 1. Reserve durably before any pad byte is read.
        persist_state(&self.state_path, &layout, &next, &self.erased)?;
        self.state = next;
        // 2. Encrypt and authenticate.
        let abs = layout.absolute(owner, plan.offset, plan.consumption)?;
        let pad = self.read_pad(abs, plan.consumption)?;
        let header = MessageHeader {
            pad_id: layout.pad_id,
            sender: owner,
            offset: plan.offset,
            length: u32::try_from(plaintext.len())
                .map_err(|_| Error::InvalidArgument("message too long".into()))?,
        };
        let message = seal(header, plaintext, &pad)?;
        drop(pad);
        // 3. Erase the used bytes (and any skipped before them).
        let from = layout.absolute(owner, skipped_from, 0)?;
        self.erase_pad(from, abs - from + plan.consumption)?;
        if let Some(e) = self.erased.get_mut(usize::from(owner.0)) {
            *e = self.state.send_next.0;
        }
        Ok(Sent {
            message,
            remaining: plan.remaining_after,
            warning: plan.crossed,
        })
    }

    /// Checks, authenticates and decrypts an incoming sealed message. On any error nothing changes:
    /// no state is written and no pad byte is erased.
    pub fn open_message(&mut self, wire: &[u8]) -> Result<Received> {
        let msg = SealedMessage::decode(wire)?;
        let layout = self.header.layout;
        let arrival = check_incoming(&layout, self.header.owner, &self.state, &msg.header)?;
        let need = msg.header.consumption();
        let abs = layout.absolute(msg.header.sender, msg.header.offset, need)?;
        let pad = self.read_pad(abs, need)?;
        let plaintext = open(&msg, &pad)?;
        drop(pad);
        let next = after_receive(&self.state, &msg.header);
        persist_state(&self.state_path, &layout, &next, &self.erased)?;
        self.state = next;
        // Erase the message's bytes and any skipped gap before it: neither will ever be used.
        self.erase_pad(abs - arrival.gap, need + arrival.gap)?;
        let sender = msg.header.sender.0;
        let mark = self.used_mark(sender);
        if let Some(e) = self.erased.get_mut(usize::from(sender)) {
            *e = mark;
        }
        Ok(Received {
            sender: msg.header.sender,
            offset: msg.header.offset,
            plaintext,
            gap: arrival.gap,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip() {
        let layout = PadLayout::new(PadId([3; 16]), 3, 1000).unwrap();
        let st = ChannelState {
            send_next: PadOffset(77),
            high_water: vec![PadOffset(1), PadOffset(2), PadOffset(3)],
        };
        let text = encode_state(&layout, &st, &[5, 6, 7]);
        assert_eq!(
            decode_state(Path::new("x"), &text, &layout).unwrap(),
            (st, vec![5, 6, 7])
        );
        let other = PadLayout::new(PadId([4; 16]), 3, 1000).unwrap();
        assert!(decode_state(Path::new("x"), &text, &other).is_err());
        assert!(decode_state(Path::new("x"), "junk", &layout).is_err());
    }
}
