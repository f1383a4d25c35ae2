//! The node daemon: a [`Station`] driven by real mail and a real clock, persisted as a
//! journal of its inputs (redb) so that a killed node loses nothing.
//!
//! Its home directory holds:
//! - `journal.redb`: every input that changed the station, in order; the number of outputs
//!   already handed to SMTP (`sent`); the outbox files already taken;
//! - `outbox/`: send requests (`*.json`) that `tabella vortex send` drops for the daemon;
//! - `inbox/`: letters delivered to the owner (`NNNNNN.txt`, and `NNNNNN.reply` with the hex
//!   DER of an attached reply block);
//! - `node.log`: what happened, one line per event.
//!
//! The order of durable steps makes a crash at any point safe: an input is journaled before
//! its outputs are sent and before its mail is acknowledged (a mail seen again after a crash
//! is rejected as a replay); an output's number is recorded after SMTP accepted it (a crash in
//! between sends it twice, and the next node rejects the copy as a replay).

use std::collections::VecDeque;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::{watch, Semaphore};

use crate::carrier::{self, Addressing};
use crate::error::{Error, Result};
use crate::gateway::{self, Gateway};
use crate::imap::{ImapConfig, ImapSource};
use crate::maildir::Maildir;
use crate::smtp::SmtpClient;
use crate::station::{self, Effects, Input, Letter, Out, PeerEntry, SendRequest, Station};
use crate::unblend::{self, Accepts};

const INPUTS: TableDefinition<u64, &[u8]> = TableDefinition::new("inputs");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const SPOOL: TableDefinition<&str, u64> = TableDefinition::new("spool");

fn storage(e: impl std::fmt::Display) -> Error {
    Error::Journal(e.to_string())
}

/// The journal: inputs in order, and counters.
pub struct Journal {
    db: Database,
}

impl Journal {
    /// Opens (or creates) `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path).map_err(|e| {
            Error::Journal(format!(
                "cannot open {}: {e} (is another `vortex node run` using this home?)",
                path.display()
            ))
        })?;
        private(path)?;
        let w = db.begin_write().map_err(storage)?;
        {
            w.open_table(INPUTS).map_err(storage)?;
            w.open_table(META).map_err(storage)?;
            w.open_table(SPOOL).map_err(storage)?;
        }
        w.commit().map_err(storage)?;
        Ok(Journal { db })
    }

    /// Every input, in order.
    pub fn inputs(&self) -> Result<Vec<Input>> {
        let r = self.db.begin_read().map_err(storage)?;
        let t = r.open_table(INPUTS).map_err(storage)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(storage)? {
            let (_, v) = item.map_err(storage)?;
            out.push(Input::from_bytes(v.value())?);
        }
        Ok(out)
    }

    /// Appends `input` (and marks the outbox file `spooled` taken, in the same transaction).
    pub fn append(&self, input: &Input, spooled: Option<&str>) -> Result<()> {
        let bytes = input.to_bytes()?;
        let w = self.db.begin_write().map_err(storage)?;
        {
            let mut t = w.open_table(INPUTS).map_err(storage)?;
            let next = t.last().map_err(storage)?.map_or(0, |(k, _)| k.value() + 1);
            t.insert(next, bytes.as_slice()).map_err(storage)?;
            if let Some(name) = spooled {
                let mut s = w.open_table(SPOOL).map_err(storage)?;
                s.insert(name, next).map_err(storage)?;
            }
        }
        w.commit().map_err(storage)?;
        Ok(())
    }

    /// A counter (0 if never set).
    pub fn meta(&self, key: &str) -> Result<u64> {
        let r = self.db.begin_read().map_err(storage)?;
        let t = r.open_table(META).map_err(storage)?;
        Ok(t.get(key).map_err(storage)?.map_or(0, |v| v.value()))
    }

    /// Sets a counter.
    pub fn set_meta(&self, key: &str, value: u64) -> Result<()> {
        let w = self.db.begin_write().map_err(storage)?;
        {
            let mut t = w.open_table(META).map_err(storage)?;
            t.insert(key, value).map_err(storage)?;
        }
        w.commit().map_err(storage)?;
        Ok(())
    }

    /// Whether the outbox file `name` was already taken.
    pub fn spooled(&self, name: &str) -> Result<bool> {
        let r = self.db.begin_read().map_err(storage)?;
        let t = r.open_table(SPOOL).map_err(storage)?;
        Ok(t.get(name).map_err(storage)?.is_some())
    }
}

/// Where the daemon's incoming mail comes from.
#[derive(Clone, Debug)]
pub enum Incoming {
    /// A Maildir it reads directly (the embedded transport, or a local server's Maildir).
    Maildir(PathBuf),
    /// An IMAP server (IDLE).
    Imap(ImapConfig),
}

/// How to run a daemon.
pub struct Options {
    /// The home directory.
    pub home: PathBuf,
    /// The station's keys and parameters.
    pub station: station::Config,
    /// The directory of nodes (a JSON list of [`PeerEntry`]).
    pub peers: Vec<PeerEntry>,
    /// Blendings accepted on incoming mail.
    pub accepts: Accepts,
    /// SMTP server for outgoing mail: host and port.
    pub smtp: (String, u16),
    /// Incoming mail.
    pub incoming: Incoming,
    /// How often to look for work when nothing wakes the daemon.
    pub poll: Duration,
    /// Print log lines to standard output too.
    pub echo: bool,
    /// Submit the ledger transactions that letters carry to this ledger node (the node is the
    /// last hop of ballots sent through vortex).
    pub gateway: Option<Gateway>,
}

enum Source {
    Maildir(Maildir),
    Imap(Box<ImapSource>),
}

/// A running node.
pub struct Daemon {
    home: PathBuf,
    address: String,
    station: Station,
    journal: Journal,
    accepts: Accepts,
    smtp: SmtpClient,
    source: Source,
    pending: VecDeque<Out>,
    /// Outputs whose SMTP submission failed for a passing reason: (next attempt, tries, output).
    retry: Vec<(Instant, u32, Out)>,
    sent: u64,
    rng: ChaCha20Rng,
    poll: Duration,
    log: fs::File,
    echo: bool,
    gateway: Option<Gateway>,
    jobs: Arc<Semaphore>,
}

/// Gateway submissions running at once.
const GATEWAY_JOBS: usize = 8;

/// Owner-only permissions (0700 for directories, 0600 for files).
fn private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if path.is_dir() { 0o700 } else { 0o600 };
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// What the journal's replay depends on besides the keys: address, blending, policy.
fn config_fingerprint(c: &station::Config) -> u64 {
    use sha3::{Digest, Sha3_256};
    let text = format!(
        "{}|{}|{:?}",
        c.address,
        station::blending_name(&c.blending),
        c.policy
    );
    let d = Sha3_256::digest(text.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b).max(1)
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where an outbox request goes: `HOME/outbox/NAME.json`, written atomically.
pub fn queue_request(home: &Path, request: &SendRequest) -> Result<PathBuf> {
    let dir = home.join("outbox");
    fs::create_dir_all(&dir)?;
    let name = format!(
        "{}-{:08x}.json",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
        std::process::id()
    );
    let tmp = dir.join(format!(".{name}.tmp"));
    let body =
        serde_json::to_vec_pretty(request).map_err(|e| Error::BadParameters(e.to_string()))?;
    let mut f = fs::File::create(&tmp)?;
    f.write_all(&body)?;
    f.sync_all()?;
    fs::rename(&tmp, dir.join(&name))?;
    Ok(dir.join(name))
}

/// The letters in `HOME/inbox`, in order.
pub fn read_inbox(home: &Path) -> Result<Vec<Letter>> {
    let dir = home.join("inbox");
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(out);
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".txt") && !n.starts_with('.'))
        .collect();
    names.sort();
    for n in names {
        let stem = n.trim_end_matches(".txt");
        let Ok(seq) = stem.parse::<u64>() else {
            continue;
        };
        let text = fs::read(dir.join(&n))?;
        let reply_block = match fs::read_to_string(dir.join(format!("{stem}.reply"))) {
            Ok(h) => {
                Some(hex::decode(h.trim()).map_err(|e| Error::malformed("reply block file", e))?)
            }
            Err(_) => None,
        };
        out.push(Letter {
            seq,
            text,
            reply_block,
        });
    }
    Ok(out)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

impl Daemon {
    /// Opens the home, rebuilds the station from its journal and connects the transports.
    pub async fn open(options: Options) -> Result<Self> {
        let home = options.home;
        for d in [home.clone(), home.join("outbox"), home.join("inbox")] {
            fs::create_dir_all(&d)?;
            private(&d)?;
        }
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("node.log"))?;
        private(&home.join("node.log"))?;
        let journal = Journal::open(&home.join("journal.redb"))?;
        // The journal replays only under the rules it was written with.
        let fingerprint = config_fingerprint(&options.station);
        match journal.meta("config")? {
            0 => journal.set_meta("config", fingerprint)?,
            f if f == fingerprint => {}
            _ => {
                return Err(Error::Journal(format!(
                    "{} was written by a node with another address, blending or policy; run this configuration in a new home",
                    home.join("journal.redb").display()
                )))
            }
        }
        let address = options.station.address.clone();
        let mut station = Station::new(options.station)?;
        let sent = journal.meta("sent")?;
        let mut pending = VecDeque::new();
        let inputs = journal.inputs()?;
        let replayed = inputs.len();
        let mut letters = Vec::new();
        let mut last_peers = None;
        for input in &inputs {
            if let Input::Peers { peers, .. } = input {
                last_peers = Some(peers.clone());
            }
            let fx = station.apply(input);
            pending.extend(fx.out.into_iter().filter(|o| o.seq >= sent));
            letters.extend(fx.letters);
        }
        let source = match options.incoming {
            Incoming::Maildir(dir) => Source::Maildir(Maildir::open(dir)?),
            Incoming::Imap(cfg) => Source::Imap(Box::new(ImapSource::connect(cfg).await?)),
        };
        let smtp = SmtpClient::plain(
            &options.smtp.0,
            options.smtp.1,
            address.rsplit_once('@').map_or("localhost", |(_, d)| d),
        );
        let mut d = Daemon {
            home,
            address,
            station,
            journal,
            accepts: options.accepts,
            smtp,
            source,
            pending,
            retry: Vec::new(),
            sent,
            rng: ChaCha20Rng::from_entropy(),
            poll: options.poll,
            log,
            echo: options.echo,
            gateway: options.gateway,
            jobs: Arc::new(Semaphore::new(GATEWAY_JOBS)),
        };
        d.log(&format!(
            "started: {} inputs replayed, {} messages waiting to be sent, {} sent before",
            replayed,
            d.pending.len(),
            sent
        ));
        for l in &letters {
            d.store_letter(l)?;
        }
        // Gateway jobs a crash interrupted (a letter with a transaction and no answer yet).
        for l in &letters {
            if !d
                .home
                .join("inbox")
                .join(format!("{:06}.gateway.json", l.seq))
                .exists()
            {
                d.relay_to_ledger(l);
            }
        }
        if last_peers.as_ref() != Some(&options.peers) {
            d.input(
                Input::Peers {
                    now: unix_now(),
                    peers: options.peers,
                },
                None,
            )?;
        }
        Ok(d)
    }

    /// The station.
    pub fn station(&self) -> &Station {
        &self.station
    }

    /// Messages produced and not yet handed to SMTP.
    pub fn unsent(&self) -> usize {
        self.pending.len()
    }

    fn log(&mut self, line: &str) {
        let stamp = carrier::rfc5322_date(unix_now());
        let _ = writeln!(self.log, "{stamp} {}: {line}", self.address);
        if self.echo {
            println!("{}: {line}", self.address);
        }
    }

    fn store_letter(&self, l: &Letter) -> Result<()> {
        let dir = self.home.join("inbox");
        let txt = dir.join(format!("{:06}.txt", l.seq));
        if txt.exists() {
            return Ok(());
        }
        if let Some(r) = &l.reply_block {
            write_atomic(
                &dir.join(format!("{:06}.reply", l.seq)),
                hex::encode(r).as_bytes(),
            )?;
        }
        write_atomic(&txt, &l.text)
    }

    /// Journals `input` (unless it was a candidate not for us), applies it, and queues its
    /// effects.
    fn input(&mut self, input: Input, spooled: Option<&str>) -> Result<Effects> {
        let fx = self.station.apply(&input);
        if fx.not_for_us {
            return Ok(fx);
        }
        self.journal.append(&input, spooled)?;
        for line in &fx.log {
            self.log(line);
        }
        for l in &fx.letters {
            self.store_letter(l)?;
            self.log(&format!(
                "letter {} delivered ({} bytes)",
                l.seq,
                l.text.len()
            ));
            self.relay_to_ledger(l);
        }
        self.pending.extend(fx.out.iter().cloned());
        Ok(fx)
    }

    /// A gateway submits the transaction a letter carries, then answers through its reply
    /// block (in the background; the answer goes through the outbox, so it is journaled).
    fn relay_to_ledger(&mut self, l: &Letter) {
        let Some(g) = self.gateway.clone() else {
            return;
        };
        let Some(tx) = l.text.strip_prefix(gateway::TX_PREFIX) else {
            return;
        };
        self.log(&format!(
            "letter {} carries a ledger transaction: submitting it to {}",
            l.seq, g.ledger
        ));
        let tx = tx.to_vec();
        let reply = l.reply_block.clone();
        let home = self.home.clone();
        let seq = l.seq;
        let jobs = self.jobs.clone();
        tokio::spawn(async move {
            let Ok(_permit) = jobs.acquire_owned().await else {
                return;
            };
            let receipt = g.submit(&tx).await;
            let json = serde_json::to_vec(&receipt).unwrap_or_default();
            let _ = write_atomic(
                &home.join("inbox").join(format!("{seq:06}.gateway.json")),
                &json,
            );
            if let Some(block) = reply {
                let mut text = gateway::RECEIPT_PREFIX.to_vec();
                text.extend_from_slice(&json);
                let _ = queue_request(
                    &home,
                    &SendRequest {
                        to: station::Target::ReplyBlock(hex::encode(block)),
                        text,
                        hops: 1,
                        redundancy: None,
                        decoys: 0,
                        reply: false,
                        delay: (0, 0),
                    },
                );
            }
        });
    }

    /// Starts identity set-up at every node that has none yet.
    pub fn setup(&mut self) -> Result<()> {
        let s = self.station.setup();
        let missing = self.station.peers().count() > s.ready.len();
        if missing && s.pending.is_none() && s.queue.is_empty() {
            self.input(Input::Setup { now: unix_now() }, None)?;
        }
        Ok(())
    }

    async fn take_outbox(&mut self) -> Result<()> {
        // Messages wait until the identity set-up has finished (routes need identities).
        let s = self.station.setup();
        if s.pending.is_some() || !s.queue.is_empty() {
            return Ok(());
        }
        let dir = self.home.join("outbox");
        let mut names: Vec<String> = fs::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            if !self.journal.spooled(&name)? {
                let request: SendRequest =
                    match fs::read(&path).map_err(Error::from).and_then(|b| {
                        serde_json::from_slice(&b).map_err(|e| Error::malformed("send request", e))
                    }) {
                        Ok(r) => r,
                        Err(e) => {
                            self.log(&format!("outbox {name}: {e}; moved to outbox/failed"));
                            fs::create_dir_all(dir.join("failed"))?;
                            fs::rename(&path, dir.join("failed").join(&name))?;
                            continue;
                        }
                    };
                self.input(
                    Input::Send {
                        now: unix_now(),
                        request,
                    },
                    Some(&name),
                )?;
            }
            fs::remove_file(&path)?;
        }
        Ok(())
    }

    async fn take_mail(&mut self) -> Result<usize> {
        // One mail at a time: read, journal, acknowledge, then the next (memory stays bounded
        // whatever the mailbox holds).
        let ids: Vec<String> = match &mut self.source {
            Source::Maildir(md) => md.list_new()?,
            Source::Imap(imap) => imap.unseen().await?,
        };
        let count = ids.len();
        for id in ids {
            let mail = match &mut self.source {
                Source::Maildir(md) => md.read_new(&id).ok(),
                Source::Imap(imap) => imap.fetch(&id).await?,
            };
            let now = unix_now();
            let candidates = match mail
                .as_deref()
                .map(|m| unblend::candidates(m, &self.accepts))
            {
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    self.log(&format!("mail {id}: {e}"));
                    Vec::new()
                }
                None => {
                    self.log(&format!("mail {id}: gone, or larger than we take"));
                    Vec::new()
                }
            };
            let mut found = false;
            for c in candidates {
                let fx = self.input(Input::Receive { now, bytes: c }, None)?;
                if !fx.not_for_us {
                    found = true;
                    break;
                }
            }
            if !found {
                self.log(&format!("mail {id}: no vortex message for this node"));
            }
            match &mut self.source {
                Source::Maildir(md) => {
                    if let Err(e) = md.mark_seen(&id) {
                        self.log(&format!("mail {id}: cannot mark it seen: {e}"));
                    }
                }
                Source::Imap(imap) => imap.ack(&id).await?,
            }
        }
        Ok(count)
    }

    /// The lowest output number not yet handed to SMTP (persisted: a restart sends from there).
    fn watermark(&self) -> u64 {
        let queued = self.pending.iter().map(|o| o.seq);
        let waiting = self.retry.iter().map(|(_, _, o)| o.seq);
        queued
            .chain(waiting)
            .min()
            .unwrap_or(self.station.outputs())
    }

    async fn send_one(&mut self, o: &Out) -> Result<()> {
        let mail = carrier::compose(
            &Addressing {
                from: self.address.clone(),
                to: o.message.to.clone(),
                date: unix_now(),
            },
            &o.message.bytes,
            &o.message.blending,
            &mut self.rng,
        )
        .map_err(|e| Error::Rejected(format!("cannot build the carrier: {e}")))?;
        self.smtp.send(&self.address, &o.message.to, &mail).await
    }

    async fn flush(&mut self) -> Result<()> {
        // Due retries go back in line first.
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.retry)
            .into_iter()
            .partition(|(t, ..)| *t <= now);
        self.retry = later;
        let mut tries = std::collections::HashMap::new();
        for (_, n, o) in due {
            tries.insert(o.seq, n);
            self.pending.push_front(o);
        }
        while let Some(o) = self.pending.pop_front() {
            match self.send_one(&o).await {
                Ok(()) => {}
                Err(Error::Transport(e)) => {
                    // A passing failure: this message waits (with backoff); the others go on.
                    let n = tries.get(&o.seq).copied().unwrap_or(0) + 1;
                    let wait = Duration::from_secs((1u64 << n.min(9)).min(600));
                    self.log(&format!(
                        "send {} to {} failed (try {n}), again in {} s: {e}",
                        o.seq,
                        o.message.to,
                        wait.as_secs()
                    ));
                    self.retry.push((Instant::now() + wait, n, o));
                }
                Err(e) => {
                    // Refused for good (or unbuildable): dropped, as a lost mail would be.
                    self.log(&format!("send {} to {} dropped: {e}", o.seq, o.message.to));
                }
            }
            let mark = self.watermark();
            if mark != self.sent {
                self.sent = mark;
                self.journal.set_meta("sent", mark)?;
            }
        }
        Ok(())
    }

    /// One round: outbox, incoming mail, due combos, sending.
    pub async fn step(&mut self) -> Result<()> {
        self.take_outbox().await?;
        self.take_mail().await?;
        let now = unix_now();
        if self.station.due(now) {
            self.input(Input::Tick { now }, None)?;
        }
        self.flush().await
    }

    /// Runs until `stop` turns true. Transport failures are logged and retried with backoff;
    /// only a journal failure stops the node (nothing could be recorded any more).
    pub async fn run(&mut self, mut stop: watch::Receiver<bool>) -> Result<()> {
        self.setup()?;
        let mut backoff = 0u32;
        loop {
            match self.step().await {
                Ok(()) => backoff = 0,
                Err(e @ Error::Journal(_)) => {
                    self.log(&format!("stopping: {e}"));
                    return Err(e);
                }
                Err(e) => {
                    backoff = (backoff + 1).min(6);
                    self.log(&format!("{e}; trying again"));
                    let pause = Duration::from_millis(250 << backoff);
                    tokio::select! {
                        _ = stop.changed() => {}
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
            if *stop.borrow() {
                break;
            }
            let wait = match self.station.next_due() {
                Some(d) => Duration::from_secs(d.saturating_sub(unix_now())).min(self.poll),
                None => self.poll,
            };
            let wait = self
                .retry
                .iter()
                .map(|(t, ..)| t.saturating_duration_since(Instant::now()))
                .fold(wait, Duration::min);
            match &mut self.source {
                Source::Imap(imap) => {
                    tokio::select! {
                        _ = stop.changed() => {}
                        r = imap.wait(wait) => {
                            if let Err(e) = r {
                                self.log(&format!("{e}; reconnecting"));
                                tokio::time::sleep(Duration::from_millis(500)).await;
                            }
                        }
                    }
                }
                Source::Maildir(_) => {
                    tokio::select! {
                        _ = stop.changed() => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        self.log("stopped");
        Ok(())
    }
}
