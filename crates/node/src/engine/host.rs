//! The run loop: answers each request of the engine, calling the [`LedgerApp`] on blocking
//! tasks.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_malachitebft_app_channel::app::consensus::VoteExtensionError;
use arc_malachitebft_app_channel::app::engine::host::{Next, SyncedValueOutcome};
use arc_malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use arc_malachitebft_app_channel::app::types::core::{
    CommitCertificate, ExtendedCommitCertificate, ExtendedCommitSignature, HeightParams,
    LinearTimeouts, Round, Validity, Value as _, VoteExtensionPolicy, VoteExtensions,
};
use arc_malachitebft_app_channel::app::types::sync::RawDecidedValue;
use arc_malachitebft_app_channel::app::types::{LocallyProposedValue, PeerId, ProposedValue};
use arc_malachitebft_app_channel::{AppMsg, NetworkMsg};
use bytes::Bytes;
use tabella_ledger::block::{Block, Commit};
use tabella_ledger::roster::{ValidatorSecret, ValidatorSignature};
use tabella_ledger::types::{BlockHash, Height};
use tabella_ledger::verdict::SignedBitmap;
use tokio::sync::mpsc;

use super::codec::{decode_block, encode_block, ReplayedBlocks};
use super::context::{
    Address, BlockValue, EngineHeight, EngineValidatorSet, ProposalPart, TabellaContext,
};
use super::signing::{bitmap_of, extension_of, parts_signed_bytes, sign_parts, PARTS_DOMAIN};
use super::EngineConfig;
use crate::app::{CommitError, LedgerApp};
use crate::error::{Error, Result};

type Ctx = TabellaContext;

/// A block this node has seen proposed (or proposed itself), with what it decided about it.
#[derive(Clone, Debug)]
struct Seen {
    height: Height,
    round: Round,
    valid_round: Round,
    proposer: Address,
    block: Arc<Block>,
    valid: bool,
}

impl Seen {
    fn proposed_value(&self) -> ProposedValue<Ctx> {
        ProposedValue {
            height: EngineHeight(self.height),
            round: self.round,
            valid_round: self.valid_round,
            proposer: self.proposer,
            value: BlockValue::new((*self.block).clone()),
            validity: Validity::from_bool(self.valid),
        }
    }
}

/// Parts of one stream, by sequence number.
#[derive(Default)]
struct PartialStream {
    parts: BTreeMap<u64, ProposalPart>,
    /// Sequence number of the end-of-stream message, once seen.
    end: Option<u64>,
    bytes: usize,
    height: Option<Height>,
}

/// A completed stream for a height this node has not reached yet.
struct Pending {
    height: Height,
    round: u32,
    pol_round: Option<u32>,
    proposer: Address,
    block: Block,
}

const MAX_STREAMS: usize = 256;

pub(super) struct Host<A> {
    app: Arc<Mutex<A>>,
    secret: ValidatorSecret,
    me: Address,
    timeouts: LinearTimeouts,
    min_block_interval: Duration,
    part_size: usize,
    max_block_bytes: usize,
    network: mpsc::Sender<NetworkMsg<Ctx>>,

    height: Height,
    validators: Option<EngineValidatorSet>,
    height_started: Instant,
    /// Vote extensions of the last decided block: the next proposal carries them.
    prev_verdicts: Vec<SignedBitmap>,
    seen: HashMap<BlockHash, Seen>,
    streams: HashMap<(PeerId, StreamId), PartialStream>,
    pending: Vec<Pending>,
    stream_nonce: u64,
    /// Blocks the WAL replayed after a restart (see [`super::codec::WalCodec`]).
    replayed: ReplayedBlocks,
}

/// Runs `f` on the application on a blocking task.
async fn call_app<A, R, F>(app: &Arc<Mutex<A>>, f: F) -> Result<R>
where
    A: LedgerApp,
    R: Send + 'static,
    F: FnOnce(&mut A) -> R + Send + 'static,
{
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || {
        let mut guard = app.lock().map_err(|_| Error::Poisoned("application"))?;
        Ok(f(&mut guard))
    })
    .await
    .map_err(|e| Error::Task {
        task: "the application task",
        reason: e.to_string(),
    })?
}

fn reply<T>(tx: tokio::sync::oneshot::Sender<T>, v: T, what: &str) {
    if tx.send(v).is_err() {
        tracing::warn!("the engine dropped its {what} request before the reply");
    }
}

impl<A: LedgerApp> Host<A> {
    pub(super) fn new(
        config: &EngineConfig,
        me: Address,
        app: Arc<Mutex<A>>,
        network: mpsc::Sender<NetworkMsg<Ctx>>,
        replayed: ReplayedBlocks,
    ) -> Self {
        Host {
            app,
            secret: config.secret.clone(),
            me,
            timeouts: config.timeouts.to_linear(),
            min_block_interval: config.min_block_interval,
            part_size: config.part_size.max(1024),
            max_block_bytes: config.max_block_bytes,
            network,
            height: Height(0),
            validators: None,
            height_started: Instant::now(),
            prev_verdicts: Vec::new(),
            seen: HashMap::new(),
            streams: HashMap::new(),
            pending: Vec::new(),
            stream_nonce: 0,
            replayed,
        }
    }

    /// The parameters of the next height from the app: its tip and next roster.
    async fn next_height_params(&mut self) -> Result<(EngineHeight, HeightParams<Ctx>)> {
        let (tip, roster) = call_app(&self.app, |a| (a.tip_height(), a.next_roster())).await?;
        let next = tip
            .next()
            .ok_or_else(|| Error::Engine("height overflow".into()))?;
        let set = EngineValidatorSet::from_roster(&roster).ok_or_else(|| {
            Error::Ledger(tabella_ledger::Error::BadRoster(
                "the next roster is empty".into(),
            ))
        })?;
        self.enter_height(next, set.clone());
        let params = HeightParams::new(set, self.timeouts, None)
            .with_vote_extension_policy(VoteExtensionPolicy::Required);
        Ok((EngineHeight(next), params))
    }

    fn enter_height(&mut self, height: Height, set: EngineValidatorSet) {
        self.height = height;
        self.validators = Some(set);
        self.height_started = Instant::now();
        self.seen.retain(|_, s| s.height >= height);
        self.streams
            .retain(|_, s| s.height.is_none_or(|h| h >= height));
        self.pending.retain(|p| p.height >= height);
        if let Ok(mut r) = self.replayed.lock() {
            r.retain(|_, b| b.header.height >= height);
        }
    }

    fn params_for_current(&self) -> Result<HeightParams<Ctx>> {
        let set = self
            .validators
            .clone()
            .ok_or_else(|| Error::Engine("no validator set yet".into()))?;
        Ok(HeightParams::new(set, self.timeouts, None)
            .with_vote_extension_policy(VoteExtensionPolicy::Required))
    }

    pub(super) async fn handle(&mut self, msg: AppMsg<Ctx>) -> Result<()> {
        match msg {
            AppMsg::ConsensusReady { reply: r } => {
                let (height, params) = self.next_height_params().await?;
                // After a restart, the verdicts of the tip's certificate are in its commit.
                let prev = height.0 .0.saturating_sub(1);
                if prev > 0 {
                    let decided = call_app(&self.app, move |a| a.decided(Height(prev))).await?;
                    self.prev_verdicts = decided.map(|(_, c)| c.verdicts).unwrap_or_default();
                }
                tracing::info!(%height, "consensus ready");
                reply(r, (height, params), "ConsensusReady");
            }

            AppMsg::StartedRound {
                height,
                round,
                reply_value,
                ..
            } => {
                let values = self.values_for_round(height.0, round).await;
                reply(reply_value, values, "StartedRound");
            }

            AppMsg::GetValue {
                height,
                round,
                timeout,
                reply: r,
            } => {
                if let Some(value) = self.propose(height.0, round, timeout).await? {
                    reply(r, value, "GetValue");
                }
            }

            AppMsg::ExtendVote {
                value_id, reply: r, ..
            } => {
                let bitmap = self.own_verdicts(value_id).await?;
                let ext = match bitmap {
                    Some(b) => match serde_json::to_vec(&b) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot encode a verdict bitmap");
                            None
                        }
                    },
                    None => {
                        tracing::warn!(block = %value_id, "no verdicts for a block this node precommits");
                        None
                    }
                };
                reply(r, ext, "ExtendVote");
            }

            AppMsg::VerifyVoteExtensions {
                extensions,
                reply: r,
                ..
            } => {
                let verdicts = call_app(&self.app, move |a| {
                    extensions
                        .into_iter()
                        .map(|(addr, ext)| {
                            let ok = bitmap_of(&ext).ok().is_some_and(|b| {
                                b.bitmap.node == addr.0 && a.check_verdicts(&b).is_ok()
                            });
                            let verdict = if ok {
                                Ok(())
                            } else {
                                Err(VoteExtensionError::InvalidVoteExtension)
                            };
                            (addr, verdict)
                        })
                        .collect::<Vec<_>>()
                })
                .await?;
                reply(r, verdicts, "VerifyVoteExtensions");
            }

            AppMsg::RestreamProposal {
                height,
                round,
                valid_round,
                value_id,
                ..
            } => {
                // After a restart, a value this node locked on may be known from the WAL only.
                let found = self.known_block(&value_id)?;
                match (found, round.as_u32()) {
                    (Some(block), Some(r)) => {
                        self.stream(height.0, r, valid_round.as_u32(), &block)
                            .await?;
                    }
                    _ => tracing::warn!(%height, %round, "cannot restream an unknown block"),
                }
            }

            AppMsg::GetHistoryMinHeight { reply: r } => {
                reply(r, EngineHeight(Height(1)), "GetHistoryMinHeight");
            }

            AppMsg::ReceivedProposalPart {
                from,
                published_by,
                part,
                reply: r,
            } => {
                let value = self
                    .received_part(published_by.unwrap_or(from), part)
                    .await?;
                reply(r, value, "ReceivedProposalPart");
            }

            AppMsg::Decided {
                certificate,
                extensions,
                reply: r,
            } => {
                self.decided(certificate, extensions).await?;
                reply(r, (), "Decided");
            }

            AppMsg::Finalized {
                certificate,
                extensions,
                reply: r,
                ..
            } => {
                let decided_height = certificate.height.0;
                let tip = call_app(&self.app, |a| a.tip_height()).await?;
                let next = if tip >= decided_height {
                    // Precommits that arrived after the decision add their verdicts.
                    let more = verdicts_of(&extensions);
                    if more.len() > self.prev_verdicts.len() {
                        self.prev_verdicts = more;
                    }
                    let (h, p) = self.next_height_params().await?;
                    Next::Start(h, p)
                } else {
                    tracing::warn!(height = %decided_height, "decided block not committed; restarting the height");
                    self.height_started = Instant::now();
                    Next::Restart(EngineHeight(decided_height), self.params_for_current()?)
                };
                reply(r, next, "Finalized");
            }

            AppMsg::GetDecidedValues { range, reply: r } => {
                let (from, to) = (range.start().0 .0, range.end().0 .0);
                let values = call_app(&self.app, move |a| {
                    let mut out = Vec::new();
                    for h in from..=to.min(from.saturating_add(16)) {
                        match a.decided(Height(h)) {
                            Some(d) => out.push(d),
                            None => break,
                        }
                    }
                    out
                })
                .await?;
                let mut raw = Vec::with_capacity(values.len());
                for (block, commit) in values {
                    match raw_decided(&block, &commit) {
                        Ok(v) => raw.push(v),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot serve a decided block");
                            break;
                        }
                    }
                }
                reply(r, raw, "GetDecidedValues");
            }

            AppMsg::ProcessSyncedValue {
                height,
                round,
                proposer,
                value_bytes,
                reply: r,
            } => {
                let outcome = self.synced(height, round, proposer, value_bytes).await?;
                reply(r, outcome, "ProcessSyncedValue");
            }
        }
        Ok(())
    }

    /// A block of the current heights this node has: proposed or received in this process, or
    /// read back from the WAL after a restart.
    fn known_block(&self, hash: &BlockHash) -> Result<Option<Arc<Block>>> {
        if let Some(s) = self.seen.get(hash) {
            return Ok(Some(Arc::clone(&s.block)));
        }
        Ok(self
            .replayed
            .lock()
            .map_err(|_| Error::Poisoned("replay cache"))?
            .get(hash)
            .cloned()
            .map(Arc::new))
    }

    /// This validator's verdict bitmap for `block`, the extension of its precommit.
    ///
    /// The application keeps the verdicts of the blocks it validated in memory only. After a
    /// crash between receiving a polka and signing its precommit, the engine replays the
    /// proposal and the prevotes from its WAL and precommits again, asking for the extension
    /// of a block this process never validated (it has the block only from the WAL). The
    /// engine requires an extension on every precommit for a block and refuses to go on
    /// without one (it stops with a "safety-critical failure"), so the node would never come
    /// back. Here the block, from the proposals seen or the WAL, is re-executed to recompute
    /// the verdicts (the same work as validating a proposal; `validate` is deterministic and
    /// the block is at `tip + 1` during replay).
    async fn own_verdicts(&mut self, block: BlockHash) -> Result<Option<SignedBitmap>> {
        if let Some(b) = call_app(&self.app, move |a| a.verdicts_for(&block)).await? {
            return Ok(Some(b));
        }
        let Some(known) = self.known_block(&block)? else {
            return Ok(None);
        };
        tracing::info!(%block, "recomputing this node's verdicts for a block it precommits (replayed from the WAL or evicted)");
        let res = call_app(&self.app, move |a| {
            a.validate(&known).map(|()| a.verdicts_for(&block))
        })
        .await?;
        match res {
            Ok(verdicts) => Ok(verdicts),
            Err(e) => {
                tracing::error!(%block, error = %e, "a block this node precommits does not validate");
                Ok(None)
            }
        }
    }

    async fn values_for_round(&mut self, height: Height, round: Round) -> Vec<ProposedValue<Ctx>> {
        // Complete proposals that arrived before this node reached their height.
        let r = round.as_u32();
        let (ready, later): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.height == height && Some(p.round) == r);
        self.pending = later;
        for p in ready {
            if let Err(e) = self
                .validate_and_remember(p.height, p.round, p.pol_round, p.proposer, p.block)
                .await
            {
                tracing::error!(error = %e, "validating an early proposal");
            }
        }
        self.seen
            .values()
            .filter(|s| s.height == height && s.round == round)
            .map(Seen::proposed_value)
            .collect()
    }

    async fn propose(
        &mut self,
        height: Height,
        round: Round,
        timeout: Duration,
    ) -> Result<Option<LocallyProposedValue<Ctx>>> {
        let Some(r) = round.as_u32() else {
            return Ok(None);
        };
        // Re-proposing after a restart within the same round: the same block.
        let mine = self
            .seen
            .values()
            .find(|s| s.height == height && s.round == round && s.proposer == self.me)
            .map(|s| Arc::clone(&s.block));
        let block = match mine {
            Some(b) => b,
            None => {
                // Pace an idle chain: wait out the minimum interval (within half the timeout).
                let now = Instant::now();
                let target = self
                    .height_started
                    .checked_add(self.min_block_interval)
                    .unwrap_or(now);
                let latest = now.checked_add(timeout / 2).unwrap_or(now);
                tokio::time::sleep_until(target.min(latest).into()).await;
                let verdicts = self.prev_verdicts.clone();
                let built = call_app(&self.app, move |a| {
                    let block = a.propose(height, verdicts)?;
                    a.validate(&block)?;
                    Ok::<_, String>(block)
                })
                .await?;
                let block = match built {
                    Ok(b) => Arc::new(b),
                    Err(e) => {
                        tracing::error!(%height, error = %e, "the application cannot propose");
                        return Ok(None);
                    }
                };
                self.seen.insert(
                    block.header.hash(),
                    Seen {
                        height,
                        round,
                        valid_round: Round::Nil,
                        proposer: self.me,
                        block: Arc::clone(&block),
                        valid: true,
                    },
                );
                block
            }
        };
        self.stream(height, r, None, &block).await?;
        Ok(Some(LocallyProposedValue::new(
            EngineHeight(height),
            round,
            BlockValue::new((*block).clone()),
        )))
    }

    /// Publishes `block` as a stream of parts: init, chunks, signed end.
    async fn stream(
        &mut self,
        height: Height,
        round: u32,
        pol_round: Option<u32>,
        block: &Block,
    ) -> Result<()> {
        let bytes = encode_block(block).map_err(|e| Error::Engine(e.to_string()))?;
        let hash = block.header.hash();
        self.stream_nonce = self.stream_nonce.wrapping_add(1);
        let mut id = height.0.to_be_bytes().to_vec();
        id.extend_from_slice(&round.to_be_bytes());
        id.extend_from_slice(&self.stream_nonce.to_be_bytes());
        let stream_id = StreamId::new(Bytes::from(id));

        let mut parts = vec![ProposalPart::Init {
            height: EngineHeight(height),
            round,
            pol_round,
            proposer: self.me,
        }];
        for chunk in bytes.chunks(self.part_size) {
            parts.push(ProposalPart::Data {
                chunk: hex::encode(chunk),
            });
        }
        parts.push(ProposalPart::Fin {
            signature: sign_parts(&self.secret, height.0, round, &hash),
        });
        let mut seq = 0u64;
        for p in parts {
            self.publish(StreamMessage::new(
                stream_id.clone(),
                seq,
                StreamContent::Data(p),
            ))
            .await?;
            seq += 1;
        }
        self.publish(StreamMessage::new(stream_id, seq, StreamContent::Fin))
            .await
    }

    async fn publish(&self, msg: StreamMessage<ProposalPart>) -> Result<()> {
        self.network
            .send(NetworkMsg::PublishProposalPart(msg))
            .await
            .map_err(|_| Error::Engine("the network actor is gone".into()))
    }

    async fn received_part(
        &mut self,
        peer: PeerId,
        msg: StreamMessage<ProposalPart>,
    ) -> Result<Option<ProposedValue<Ctx>>> {
        let key = (peer, msg.stream_id.clone());
        if !self.streams.contains_key(&key) && self.streams.len() >= MAX_STREAMS {
            tracing::warn!("too many open proposal streams; dropping a part");
            return Ok(None);
        }
        let stream = self.streams.entry(key.clone()).or_default();
        match msg.content {
            StreamContent::Fin => stream.end = Some(msg.sequence),
            StreamContent::Data(part) => {
                if let ProposalPart::Init { height, .. } = &part {
                    stream.height = Some(height.0);
                }
                if let ProposalPart::Data { chunk } = &part {
                    stream.bytes = stream.bytes.saturating_add(chunk.len() / 2);
                }
                stream.parts.insert(msg.sequence, part);
            }
        }
        if stream.bytes > self.max_block_bytes {
            tracing::warn!("a proposal stream exceeds the block size limit; dropped");
            self.streams.remove(&key);
            return Ok(None);
        }
        if stream.height.is_some_and(|h| h < self.height) {
            self.streams.remove(&key);
            return Ok(None);
        }
        let complete = stream.end.is_some_and(|end| {
            stream.parts.len() as u64 == end && stream.parts.keys().copied().eq(0..end)
        });
        if !complete {
            return Ok(None);
        }
        let Some(stream) = self.streams.remove(&key) else {
            return Ok(None);
        };
        let parts: Vec<ProposalPart> = stream.parts.into_values().collect();
        let Some((height, round, pol_round, proposer, block)) = self.assemble(parts) else {
            return Ok(None);
        };
        if height > self.height {
            if height.0 <= self.height.0.saturating_add(2) {
                self.pending.push(Pending {
                    height,
                    round,
                    pol_round,
                    proposer,
                    block,
                });
            }
            return Ok(None);
        }
        if height < self.height {
            return Ok(None);
        }
        self.validate_and_remember(height, round, pol_round, proposer, block)
            .await
    }

    /// Checks a completed stream's shape and the proposer's signature; returns the block.
    fn assemble(
        &self,
        parts: Vec<ProposalPart>,
    ) -> Option<(Height, u32, Option<u32>, Address, Block)> {
        let mut it = parts.into_iter();
        let Some(ProposalPart::Init {
            height,
            round,
            pol_round,
            proposer,
        }) = it.next()
        else {
            tracing::warn!("a proposal stream does not start with its header");
            return None;
        };
        let mut bytes = Vec::new();
        let mut signature = None;
        for p in it {
            match p {
                ProposalPart::Data { chunk } if signature.is_none() => match hex::decode(chunk) {
                    Ok(b) => bytes.extend_from_slice(&b),
                    Err(_) => return None,
                },
                ProposalPart::Fin { signature: s } if signature.is_none() => signature = Some(s),
                _ => {
                    tracing::warn!("a malformed proposal stream");
                    return None;
                }
            }
        }
        let signature = signature?;
        let block = match decode_block(&bytes) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "a proposal stream does not decode to a block");
                return None;
            }
        };
        if block.header.height != height.0 {
            tracing::warn!("a proposal stream's block is for another height");
            return None;
        }
        let hash = block.header.hash();
        if proposer
            .0
            .verify(
                PARTS_DOMAIN,
                &parts_signed_bytes(height.0 .0, round, &hash),
                &signature,
            )
            .is_err()
        {
            tracing::warn!("a proposal stream is not signed by its proposer");
            return None;
        }
        Some((height.0, round, pol_round, proposer, block))
    }

    async fn validate_and_remember(
        &mut self,
        height: Height,
        round: u32,
        pol_round: Option<u32>,
        proposer: Address,
        block: Block,
    ) -> Result<Option<ProposedValue<Ctx>>> {
        if !self
            .validators
            .as_ref()
            .is_some_and(|v| v.contains(&proposer.0))
        {
            tracing::warn!(%proposer, "a proposal from outside the roster");
            return Ok(None);
        }
        let hash = block.header.hash();
        let valid = match self.seen.get(&hash) {
            Some(s) => s.valid,
            None => {
                let block = block.clone();
                let res = call_app(&self.app, move |a| a.validate(&block)).await?;
                if let Err(e) = &res {
                    tracing::warn!(%height, block = %hash, error = %e, "invalid proposal: voting nil");
                }
                res.is_ok()
            }
        };
        let seen = Seen {
            height,
            round: Round::new(round),
            valid_round: Round::from(pol_round),
            proposer,
            block: Arc::new(block),
            valid,
        };
        let value = seen.proposed_value();
        self.seen.insert(hash, seen);
        Ok(Some(value))
    }

    async fn decided(
        &mut self,
        certificate: CommitCertificate<Ctx>,
        extensions: VoteExtensions<Ctx>,
    ) -> Result<()> {
        let hash = certificate.value_id;
        let height = certificate.height.0;
        let verdicts = verdicts_of(&extensions);
        let block = match self.seen.get(&hash) {
            Some(seen) if !seen.valid => {
                // More than a third of the roster is faulty; never apply an invalid block.
                tracing::error!(%height, block = %hash, "decided a block this node found invalid");
                return Ok(());
            }
            Some(seen) => (*seen.block).clone(),
            None => {
                // Decided from the WAL after a restart: the block was read back from it (and
                // validated before the crash); `commit` re-executes it in any case.
                let replayed = self
                    .replayed
                    .lock()
                    .map_err(|_| Error::Poisoned("replay cache"))?
                    .get(&hash)
                    .cloned();
                match replayed {
                    Some(b) => b,
                    None => {
                        tracing::error!(%height, block = %hash, "decided a block this node does not have");
                        return Ok(());
                    }
                }
            }
        };
        let commit = to_commit(&certificate, verdicts.clone())?;
        let res = call_app(&self.app, move |a| a.commit(block, commit)).await?;
        match res {
            Ok(()) => {
                tracing::info!(%height, block = %hash, round = %certificate.round, "committed");
                self.prev_verdicts = verdicts;
            }
            Err(CommitError::Halt(e)) => {
                tracing::error!(%height, error = %e, "cannot store a decided block; stopping");
                return Err(e);
            }
            Err(e) => tracing::error!(%height, error = %e, "the application failed to commit"),
        }
        Ok(())
    }

    async fn synced(
        &mut self,
        height: EngineHeight,
        round: Round,
        proposer: Address,
        value_bytes: Bytes,
    ) -> Result<SyncedValueOutcome<Ctx>> {
        let block = match decode_block(&value_bytes) {
            Ok(b) if b.header.height == height.0 => b,
            _ => return Ok(SyncedValueOutcome::PeerFault),
        };
        let hash = block.header.hash();
        let tip = call_app(&self.app, |a| a.tip_height()).await?;
        if tip.next() != Some(height.0) {
            return Ok(SyncedValueOutcome::LocalTransientError);
        }
        let b = block.clone();
        let res = call_app(&self.app, move |a| a.validate(&b)).await?;
        if let Err(e) = &res {
            tracing::warn!(%height, block = %hash, error = %e, "a synced block does not validate");
        }
        let seen = Seen {
            height: height.0,
            round,
            valid_round: Round::Nil,
            proposer,
            block: Arc::new(block),
            valid: res.is_ok(),
        };
        let value = seen.proposed_value();
        self.seen.insert(hash, seen);
        Ok(SyncedValueOutcome::Verdict(value))
    }
}

/// The verdict bitmaps among the vote extensions (undecodable ones are skipped: the engine
/// only delivers extensions this node verified).
fn verdicts_of(extensions: &VoteExtensions<Ctx>) -> Vec<SignedBitmap> {
    extensions
        .extensions
        .iter()
        .filter_map(|(_, e)| bitmap_of(&e.message).ok())
        .collect()
}

/// The engine's commit certificate as the ledger's [`Commit`].
pub(crate) fn to_commit(
    certificate: &CommitCertificate<Ctx>,
    verdicts: Vec<SignedBitmap>,
) -> Result<Commit> {
    let round = certificate
        .round
        .as_u32()
        .ok_or_else(|| Error::Engine("a commit certificate without a round".into()))?;
    Ok(Commit {
        height: certificate.height.0,
        round,
        block: certificate.value_id,
        signatures: certificate
            .commit_signatures
            .iter()
            .map(|s| ValidatorSignature {
                validator: s.address.0,
                signature: s.signature.0,
            })
            .collect(),
        verdicts,
    })
}

/// A stored block and commit as the engine's sync response entry.
fn raw_decided(block: &Block, commit: &Commit) -> Result<RawDecidedValue<Ctx>> {
    let value_bytes = encode_block(block).map_err(|e| Error::Engine(e.to_string()))?;
    let mut sigs = Vec::with_capacity(commit.signatures.len());
    for s in &commit.signatures {
        let extension = match commit
            .verdicts
            .iter()
            .find(|b| b.bitmap.node == s.validator)
        {
            Some(b) => Some(extension_of(b).map_err(Error::Engine)?),
            None => None,
        };
        sigs.push(ExtendedCommitSignature::new(
            Address(s.validator),
            super::context::EngineSignature(s.signature),
            extension,
        ));
    }
    let value_id = BlockValue::id_only(commit.block).id();
    Ok(RawDecidedValue::new(
        value_bytes,
        ExtendedCommitCertificate {
            height: EngineHeight(commit.height),
            round: Round::new(commit.round),
            value_id,
            commit_signatures: sigs,
        },
    ))
}
