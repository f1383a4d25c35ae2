//! `tabella ghostline …`: the command-line shell (argument structs and command implementations).

use std::collections::HashMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use crate::client::{connect, Event, PresenceWatcher};
use crate::pad::{PadLevel, SenderIndex};
use crate::relay::{start, RateLimit, RelayConfig, RoomToken};
use crate::store::{create_pad_set, PadStore};

/// Arguments of `tabella ghostline`.
#[derive(Args, Debug)]
pub struct GhostlineArgs {
    #[command(subcommand)]
    command: GhostlineCommand,
}

#[derive(Subcommand, Debug)]
enum GhostlineCommand {
    /// Make or inspect pad files.
    Pad {
        #[command(subcommand)]
        command: PadCommand,
    },
    /// Run a relay (sees only ciphertext; admits by room token).
    Relay(RelayArgs),
    /// Send messages: the arguments, or else one message per line of standard input.
    Send(SendArgs),
    /// Print received messages, one per line: `NAME: TEXT`.
    Recv(RecvArgs),
    /// Terminal chat: conversation, member list, pad left.
    Chat(Connection),
    /// Print who is in the room, from a relay's presence listener.
    Who(WhoArgs),
}

#[derive(Args, Debug)]
struct WhoArgs {
    /// The relay's presence listener.
    #[arg(long, default_value = "127.0.0.1:8081")]
    presence: SocketAddr,
    /// Room token.
    #[arg(long, env = "GHOSTLINE_TOKEN", hide_env_values = true)]
    token: TokenArg,
}

#[derive(Subcommand, Debug)]
enum PadCommand {
    /// Make a new pad set: one file per participant, from the OS random generator.
    New {
        /// Number of participants (each gets an equal sending region).
        #[arg(long)]
        participants: u16,
        /// Total pad size, e.g. 10M, 512K, 1G or bytes (each region is SIZE / participants).
        #[arg(long)]
        size: String,
        /// Directory for the pad files (created; existing pads are never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Show a pad file's id, layout and what each sender has left.
    Info {
        /// The pad file.
        pad: PathBuf,
    },
}

/// A room token given on the command line; never shown by `Debug`.
#[derive(Clone)]
struct TokenArg(zeroize::Zeroizing<String>);

impl std::str::FromStr for TokenArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(TokenArg(zeroize::Zeroizing::new(s.to_string())))
    }
}

impl std::fmt::Debug for TokenArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<token>")
    }
}

impl TokenArg {
    fn room_token(&self) -> RoomToken {
        RoomToken::new(self.0.as_bytes().to_vec())
    }
}

#[derive(Args, Debug)]
struct RelayArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Room token (repeat for several rooms).
    #[arg(
        long = "token",
        env = "GHOSTLINE_TOKEN",
        hide_env_values = true,
        required = true
    )]
    tokens: Vec<TokenArg>,
    /// Sustained frames per second allowed per connection.
    #[arg(long, default_value_t = RateLimit::default().frames_per_second)]
    rate: u32,
    /// Burst of frames allowed per connection.
    #[arg(long, default_value_t = RateLimit::default().burst)]
    burst: u32,
    /// Do not send presence (member list) updates.
    #[arg(long)]
    no_presence: bool,
    /// Also serve presence-only watchers here (the seed used port 8081), e.g. 127.0.0.1:8081.
    #[arg(long)]
    presence_listen: Option<SocketAddr>,
}

#[derive(Args, Debug)]
struct Connection {
    /// Your pad file.
    #[arg(long)]
    pad: PathBuf,
    /// Relay address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    relay: SocketAddr,
    /// Room token.
    #[arg(long, env = "GHOSTLINE_TOKEN", hide_env_values = true)]
    token: TokenArg,
    /// Name shown to the others (default: participant N).
    #[arg(long)]
    nick: Option<String>,
}

#[derive(Args, Debug)]
struct SendArgs {
    #[command(flatten)]
    conn: Connection,
    /// Messages to send; without any, each line of standard input is one message.
    messages: Vec<String>,
}

#[derive(Args, Debug)]
struct RecvArgs {
    #[command(flatten)]
    conn: Connection,
    /// Exit after this many accepted messages.
    #[arg(long)]
    count: Option<u64>,
    /// Exit after this many seconds without any message.
    #[arg(long)]
    idle_timeout: Option<u64>,
}

/// Runs `tabella ghostline …`.
pub fn run(args: GhostlineArgs) -> anyhow::Result<()> {
    match args.command {
        GhostlineCommand::Pad {
            command:
                PadCommand::New {
                    participants,
                    size,
                    out,
                },
        } => pad_new(participants, &size, &out),
        GhostlineCommand::Pad {
            command: PadCommand::Info { pad },
        } => pad_info(&pad),
        GhostlineCommand::Relay(a) => runtime()?.block_on(relay(a)),
        GhostlineCommand::Send(a) => runtime()?.block_on(send(a)),
        GhostlineCommand::Recv(a) => runtime()?.block_on(recv(a)),
        GhostlineCommand::Chat(c) => runtime()?.block_on(chat(c)),
        GhostlineCommand::Who(w) => runtime()?.block_on(who(w)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Parses sizes like `4096`, `64K`, `10M`, `1G`, `2MiB`, `512kb`.
pub fn parse_size(s: &str) -> anyhow::Result<u64> {
    let t = s.trim();
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = t[digits.len()..].trim().to_ascii_lowercase();
    let n: u64 = digits
        .parse()
        .with_context(|| format!("size `{s}`: expected a number like 10M"))?;
    let mult: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => bail!("size `{s}`: unknown unit `{unit}` (use K, M or G)"),
    };
    n.checked_mul(mult)
        .with_context(|| format!("size `{s}` is too large"))
}

fn human(n: u64) -> String {
    if n >= 1 << 30 {
        format!("{:.2} GiB", n as f64 / f64::from(1u32 << 30))
    } else if n >= 1 << 20 {
        format!("{:.2} MiB", n as f64 / f64::from(1u32 << 20))
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn pad_new(participants: u16, size: &str, out: &std::path::Path) -> anyhow::Result<()> {
    let total = parse_size(size)?;
    let paths = create_pad_set(out, participants, total)?;
    let store = PadStore::open(&paths[0])?;
    let layout = store.layout();
    println!(
        "pad {} for {} participants, {} per sender",
        layout.pad_id,
        layout.participants,
        human(layout.region_size)
    );
    for p in &paths {
        println!("  {}", p.display());
    }
    println!("give each participant their own file over a secure channel; never copy a used pad");
    Ok(())
}

fn pad_info(pad: &std::path::Path) -> anyhow::Result<()> {
    let store = PadStore::open(pad)?;
    let layout = store.layout();
    println!("pad id:       {}", layout.pad_id);
    println!("participants: {}", layout.participants);
    println!("this file:    participant {}", store.owner());
    println!("region size:  {} per sender", human(layout.region_size));
    for i in 0..layout.participants {
        let s = SenderIndex(i);
        let left = store.remaining(s);
        let pct = left as f64 * 100.0 / layout.region_size as f64;
        let note = if s == store.owner() {
            "(you; exact)"
        } else {
            "(at most; from what you received)"
        };
        println!("  sender {i}: {} left ({pct:.1}%) {note}", human(left));
    }
    Ok(())
}

async fn relay(a: RelayArgs) -> anyhow::Result<()> {
    let mut config = RelayConfig::new(a.tokens.iter().map(TokenArg::room_token).collect());
    config.rate = RateLimit {
        frames_per_second: a.rate,
        burst: a.burst,
    };
    config.presence = !a.no_presence;
    config.presence_listen = a.presence_listen;
    let handle = start(a.listen, config).await?;
    println!("relay listening on {}", handle.local_addr());
    if let Some(p) = handle.presence_addr() {
        println!("presence listening on {p}");
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    handle.shutdown().await;
    Ok(())
}

fn nick_of(c: &Connection, store: &PadStore) -> String {
    c.nick
        .clone()
        .unwrap_or_else(|| format!("participant {}", store.owner()))
}

fn warn_level(level: PadLevel, remaining: u64) {
    match level {
        PadLevel::Critical => eprintln!(
            "warning: 1% or less of your pad region is left ({}); make a new pad set soon",
            human(remaining)
        ),
        PadLevel::Low => eprintln!(
            "warning: 10% or less of your pad region is left ({})",
            human(remaining)
        ),
        PadLevel::Plenty => {}
    }
}

async fn send(a: SendArgs) -> anyhow::Result<()> {
    let mut store = PadStore::open(&a.conn.pad)?;
    let nick = nick_of(&a.conn, &store);
    let token = a.conn.token.room_token();
    let (mut tx, _rx) = connect(a.conn.relay, &token, store.owner().0, &nick).await?;
    let lines: Box<dyn Iterator<Item = std::io::Result<String>>> = if a.messages.is_empty() {
        Box::new(std::io::stdin().lock().lines())
    } else {
        Box::new(a.messages.into_iter().map(Ok))
    };
    let mut sent = 0u64;
    for line in lines {
        let line = line.context("reading standard input")?;
        let s = store.seal(line.as_bytes())?;
        if let Some(level) = s.warning {
            warn_level(level, s.remaining);
        }
        tx.send(&s.message.encode()).await?;
        tx.flush().await?;
        sent += 1;
    }
    // Give the relay a moment to forward before we leave the room.
    tokio::time::sleep(Duration::from_millis(100)).await;
    tx.close().await?;
    eprintln!(
        "sent {sent} message(s); {} of pad left",
        human(store.remaining(store.owner()))
    );
    Ok(())
}

async fn who(w: WhoArgs) -> anyhow::Result<()> {
    let token = w.token.room_token();
    let mut watcher = PresenceWatcher::connect(w.presence, &token).await?;
    let members = tokio::time::timeout(Duration::from_secs(10), watcher.next())
        .await
        .context("no presence update within 10 s")??
        .context("the relay closed the connection")?;
    if members.is_empty() {
        println!("nobody is in the room");
    }
    for m in members {
        println!("{} ({})", m.nick, m.sender);
    }
    Ok(())
}

async fn chat(c: Connection) -> anyhow::Result<()> {
    let store = PadStore::open(&c.pad)?;
    let nick = nick_of(&c, &store);
    let token = c.token.room_token();
    let (tx, rx) = connect(c.relay, &token, store.owner().0, &nick).await?;
    crate::tui::run_chat(store, &nick, tx, rx).await
}

async fn recv(a: RecvArgs) -> anyhow::Result<()> {
    let mut store = PadStore::open(&a.conn.pad)?;
    let nick = nick_of(&a.conn, &store);
    let token = a.conn.token.room_token();
    let (_tx, mut rx) = connect(a.conn.relay, &token, store.owner().0, &nick).await?;
    eprintln!("connected to {} as {nick}", a.conn.relay);
    let mut names: HashMap<u16, String> = HashMap::new();
    let mut accepted = 0u64;
    while a.count.is_none_or(|c| accepted < c) {
        let ev = match a.idle_timeout {
            Some(t) => match tokio::time::timeout(Duration::from_secs(t), rx.next()).await {
                Ok(ev) => ev?,
                Err(_) => {
                    eprintln!("no message for {t} s; exiting");
                    break;
                }
            },
            None => rx.next().await?,
        };
        match ev {
            None => bail!("the relay closed the connection"),
            Some(Event::Presence(members)) => {
                names = members.iter().map(|m| (m.sender, m.nick.clone())).collect();
                let list: Vec<String> = members
                    .iter()
                    .map(|m| format!("{} ({})", m.nick, m.sender))
                    .collect();
                eprintln!("* present: {}", list.join(", "));
            }
            Some(Event::Data(d)) => match store.open_message(&d) {
                Ok(r) => {
                    if r.gap > 0 {
                        eprintln!(
                            "! gap: {} pad bytes of sender {} skipped (messages lost, reordered or withheld)",
                            r.gap, r.sender
                        );
                    }
                    let who = names
                        .get(&r.sender.0)
                        .cloned()
                        .unwrap_or_else(|| format!("participant {}", r.sender));
                    println!("{who}: {}", String::from_utf8_lossy(&r.plaintext.0));
                    accepted += 1;
                }
                Err(e) => eprintln!("! rejected: {e}"),
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_tokens() {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct T {
            #[command(flatten)]
            g: GhostlineArgs,
        }
        let t = T::try_parse_from([
            "t",
            "send",
            "--pad",
            "p",
            "--token",
            "sekrit-token",
            "hello",
        ])
        .unwrap();
        assert!(!format!("{t:?}").contains("sekrit-token"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("64K").unwrap(), 65536);
        assert_eq!(parse_size("10MiB").unwrap(), 10 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5T").is_err());
    }
}
