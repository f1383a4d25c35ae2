//! `tabella ghostline chat`: the terminal chat (ratatui), with the member list and pad remaining.
//!
//! The screen is a pure function of [`ChatView`]; keys, relay events and pad operations update it.

use std::time::Duration;

use ratatui::crossterm::event::{
    self, Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use ratatui::layout::{Constraint, Direction, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, Paragraph, Wrap};
use ratatui::Frame;
use tokio::sync::mpsc;

use crate::client::{ClientReceiver, ClientSender, Event};
use crate::error::Result;
use crate::frame::Member;
use crate::pad::{PadLevel, SenderIndex};
use crate::store::PadStore;

/// What the chat screen shows.
#[derive(Debug, Default)]
pub struct ChatView {
    /// Title (pad id, own name).
    pub title: String,
    /// Conversation lines: (is a notice, text).
    pub lines: Vec<(bool, String)>,
    /// Members present, per the relay.
    pub members: Vec<Member>,
    /// Pad left per sender in percent, with a note for ourselves.
    pub pad_left: Vec<(String, f64)>,
    /// The line being typed.
    pub input: String,
}

impl ChatView {
    fn refresh_pad(&mut self, store: &PadStore) {
        let region = store.layout().region_size as f64;
        self.pad_left = (0..store.layout().participants)
            .map(|i| {
                let s = SenderIndex(i);
                let label = if s == store.owner() {
                    format!("you ({i})")
                } else {
                    format!("sender {i}")
                };
                (label, store.remaining(s) as f64 * 100.0 / region)
            })
            .collect();
    }

    fn name_of(&self, sender: u16) -> String {
        self.members
            .iter()
            .find(|m| m.sender == sender)
            .map(|m| m.nick.clone())
            .unwrap_or_else(|| format!("participant {sender}"))
    }
}

/// Draws the chat screen.
pub fn draw(f: &mut Frame, v: &ChatView) {
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(5), Constraint::Length(3)])
        .split(f.area());
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Min(20), Constraint::Length(26)])
        .split(rows[0]);
    let side = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
        .split(cols[1]);

    let height = cols[0].height.saturating_sub(2) as usize;
    let skip = v.lines.len().saturating_sub(height);
    let text: Vec<Line> = v.lines[skip..]
        .iter()
        .map(|(notice, s)| {
            if *notice {
                Line::from(Span::styled(s.clone(), Style::default().fg(Color::Yellow)))
            } else {
                Line::from(s.clone())
            }
        })
        .collect();
    f.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(v.title.clone()),
        ),
        cols[0],
    );
    let members: Vec<ListItem> = v
        .members
        .iter()
        .map(|m| ListItem::new(format!("* {} ({})", m.nick, m.sender)))
        .collect();
    f.render_widget(
        List::new(members).block(Block::default().borders(Borders::ALL).title("Members")),
        side[0],
    );
    let pad: Vec<ListItem> = v
        .pad_left
        .iter()
        .map(|(who, pct)| {
            let style = match PadLevel::of((*pct * 100.0) as u64, 10_000) {
                PadLevel::Critical => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                PadLevel::Low => Style::default().fg(Color::Yellow),
                PadLevel::Plenty => Style::default(),
            };
            ListItem::new(Span::styled(format!("{who}: {pct:.1}%"), style))
        })
        .collect();
    f.render_widget(
        List::new(pad).block(Block::default().borders(Borders::ALL).title("Pad left")),
        side[1],
    );
    f.render_widget(
        Paragraph::new(format!("> {}", v.input)).block(
            Block::default()
                .borders(Borders::ALL)
                .title("Message (Enter: send, Esc: quit)"),
        ),
        rows[1],
    );
}

enum Input {
    Key(KeyEvent),
    Relay(Result<Option<Event>>),
}

/// Runs the chat until Esc or Ctrl-C (or the relay closing).
pub async fn run_chat(
    mut store: PadStore,
    nick: &str,
    mut tx: ClientSender,
    mut rx: ClientReceiver,
) -> anyhow::Result<()> {
    let (in_tx, mut in_rx) = mpsc::channel::<Input>(256);
    let relay_tx = in_tx.clone();
    let relay_task = tokio::spawn(async move {
        loop {
            let ev = rx.next().await;
            let end = !matches!(ev, Ok(Some(_)));
            if relay_tx.send(Input::Relay(ev)).await.is_err() || end {
                return;
            }
        }
    });
    let key_tx = in_tx;
    let keys = std::thread::spawn(move || loop {
        if key_tx.is_closed() {
            return;
        }
        if let Ok(true) = event::poll(Duration::from_millis(100)) {
            if let Ok(TermEvent::Key(k)) = event::read() {
                if key_tx.blocking_send(Input::Key(k)).is_err() {
                    return;
                }
            }
        }
    });

    let mut view = ChatView {
        title: format!(
            " GhostLine - {nick} - pad {} ",
            &store.layout().pad_id.to_string()[..8]
        ),
        ..ChatView::default()
    };
    view.refresh_pad(&store);
    let mut terminal = ratatui::try_init()?;
    let result = async {
        loop {
            terminal.draw(|f| draw(f, &view))?;
            let Some(input) = in_rx.recv().await else {
                return Ok::<(), anyhow::Error>(());
            };
            match input {
                Input::Key(k) if k.kind != KeyEventKind::Release => match k.code {
                    KeyCode::Esc => return Ok(()),
                    KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                        return Ok(())
                    }
                    KeyCode::Enter => {
                        let text = std::mem::take(&mut view.input);
                        if text.is_empty() {
                            continue;
                        }
                        match store.seal(text.as_bytes()) {
                            Ok(sent) => {
                                tx.send(&sent.message.encode()).await?;
                                tx.flush().await?;
                                view.lines.push((false, format!("{nick}: {text}")));
                                match sent.warning {
                                    Some(PadLevel::Low) => view.lines.push((
                                        true,
                                        "! 10% or less of your pad is left".into(),
                                    )),
                                    Some(PadLevel::Critical) => view.lines.push((
                                        true,
                                        "! 1% or less of your pad is left: make a new pad set"
                                            .into(),
                                    )),
                                    _ => {}
                                }
                            }
                            Err(e) => view.lines.push((true, format!("! not sent: {e}"))),
                        }
                        view.refresh_pad(&store);
                    }
                    KeyCode::Backspace => {
                        view.input.pop();
                    }
                    KeyCode::Char(c) => view.input.push(c),
                    _ => {}
                },
                Input::Key(_) => {}
                Input::Relay(Ok(Some(Event::Presence(m)))) => view.members = m,
                Input::Relay(Ok(Some(Event::Data(d)))) => {
                    match store.open_message(&d) {
                        Ok(r) => {
                            if r.gap > 0 {
                                view.lines.push((
                                    true,
                                    format!(
                                        "! gap: {} pad bytes of {} skipped (lost, reordered or withheld)",
                                        r.gap,
                                        view.name_of(r.sender.0)
                                    ),
                                ));
                            }
                            let who = view.name_of(r.sender.0);
                            view.lines.push((
                                false,
                                format!("{who}: {}", String::from_utf8_lossy(&r.plaintext.0)),
                            ));
                        }
                        Err(e) => view.lines.push((true, format!("! rejected: {e}"))),
                    }
                    view.refresh_pad(&store);
                }
                Input::Relay(Ok(None)) => {
                    view.lines.push((true, "! the relay closed the connection".into()));
                }
                Input::Relay(Err(e)) => view.lines.push((true, format!("! relay: {e}"))),
            }
        }
    }
    .await;
    let restored = ratatui::try_restore();
    drop(in_rx);
    relay_task.abort();
    let _ = keys.join();
    let _ = tx.close().await;
    result?;
    restored?;
    Ok(())
}
