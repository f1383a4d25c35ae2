//! A blocking client of a node's HTTP API, for the `tabella` command line.
//!
//! Every failure becomes an [`Error`] whose message says what went wrong and what to do
//! (node unreachable, rejected transaction, unknown election, …).

use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use tabella_election::action::Envelope;
use tabella_election::tally::Results;
use tabella_ledger::light::LightProof;
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{Height, TxId};

use crate::error::Error;
use crate::wire::{
    ApiError, BlockWithCommit, CommittedVerdicts, ElectionEnvelopes, ElectionSummary, NodeStatus,
    Submitted, TxStatus,
};

/// A node's API at `base` (e.g. `http://127.0.0.1:7400`).
#[derive(Clone, Debug)]
pub struct NodeClient {
    base: String,
    agent: ureq::Agent,
    /// Waited before every request (benchmarks emulating a network link's latency).
    delay: Duration,
}

impl NodeClient {
    /// A client of the node at `base` (scheme, host and port; a trailing `/` is ignored).
    /// A request that takes more than two minutes fails.
    pub fn new(base: &str) -> Self {
        Self::with_timeout(base, Duration::from_secs(120))
    }

    /// [`NodeClient::new`] whose requests fail after `timeout` (at most 5 s of it connecting):
    /// a client with several nodes to choose from moves on from one that stopped answering
    /// (e.g. a paused process, whose kernel still accepts connections).
    pub fn with_timeout(base: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .new_agent();
        NodeClient {
            base: base.trim_end_matches('/').to_string(),
            agent,
            delay: Duration::ZERO,
        }
    }

    /// The same client waiting `delay` before every request: a benchmark's emulation of a
    /// network link's one-way latency, in process.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn pause(&self) {
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn unreachable(&self, e: ureq::Error) -> Error {
        Error::Unreachable {
            url: self.base.clone(),
            reason: e.to_string(),
        }
    }

    fn read<T: DeserializeOwned>(
        &self,
        mut resp: ureq::http::Response<ureq::Body>,
    ) -> Result<T, Error> {
        let status = resp.status();
        let text = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .map_err(|e| Error::Api {
                status: status.as_u16(),
                message: format!("unreadable reply from {}: {e}", self.base),
            })?;
        if status.is_success() {
            serde_json::from_str(&text).map_err(|e| Error::Api {
                status: status.as_u16(),
                message: format!("malformed reply from {}: {e}", self.base),
            })
        } else {
            let message = serde_json::from_str::<ApiError>(&text)
                .map(|e| e.error)
                .unwrap_or(text);
            Err(Error::Api {
                status: status.as_u16(),
                message,
            })
        }
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.pause();
        let resp = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .map_err(|e| self.unreachable(e))?;
        self.read(resp)
    }

    /// `GET /v1/status`.
    pub fn status(&self) -> Result<NodeStatus, Error> {
        self.get("/v1/status")
    }

    /// `GET /v1/status?after=H&wait_ms=W`: the status once the chain is past `after` (or after
    /// `wait`, whichever comes first): waits for the next block without polling.
    pub fn status_after(&self, after: Height, wait: Duration) -> Result<NodeStatus, Error> {
        self.get(&format!(
            "/v1/status?after={}&wait_ms={}",
            after.0,
            wait.as_millis()
                .min(u128::from(crate::api::MAX_STATUS_WAIT_MS))
        ))
    }

    /// `POST /v1/tx`: validates and queues a transaction.
    pub fn submit(&self, tx: &Transaction) -> Result<TxId, Error> {
        self.pause();
        let body = serde_json::to_string(tx)?;
        let resp = self
            .agent
            .post(&format!("{}/v1/tx", self.base))
            .header("content-type", "application/json")
            .send(body)
            .map_err(|e| self.unreachable(e))?;
        let s: Submitted = self.read(resp)?;
        Ok(s.tx_id)
    }

    /// `POST /v1/txs`: validates and queues many transactions (ballots verified in parallel
    /// on the node); one result per transaction, in order.
    pub fn submit_batch(&self, txs: &[Transaction]) -> Result<Vec<Result<TxId, String>>, Error> {
        #[derive(serde::Deserialize)]
        struct Item {
            tx_id: Option<TxId>,
            error: Option<String>,
        }
        self.pause();
        let body = serde_json::to_string(txs)?;
        let resp = self
            .agent
            .post(&format!("{}/v1/txs", self.base))
            .header("content-type", "application/json")
            .send(body)
            .map_err(|e| self.unreachable(e))?;
        let items: Vec<Item> = self.read(resp)?;
        if items.len() != txs.len() {
            return Err(Error::Api {
                status: 200,
                message: format!(
                    "the node answered {} results for {} transactions",
                    items.len(),
                    txs.len()
                ),
            });
        }
        Ok(items
            .into_iter()
            .map(|i| match (i.tx_id, i.error) {
                (Some(id), None) => Ok(id),
                (_, Some(e)) => Err(e),
                (None, None) => Err("no result".into()),
            })
            .collect())
    }

    /// `GET /v1/tx/{id}`.
    pub fn tx_status(&self, id: &TxId) -> Result<TxStatus, Error> {
        self.get(&format!("/v1/tx/{id}"))
    }

    /// Polls until `id` is committed (or `timeout` passes).
    pub fn wait_committed(&self, id: &TxId, timeout: Duration) -> Result<TxStatus, Error> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            let s = self.tx_status(id)?;
            if matches!(s, TxStatus::Committed { .. }) {
                return Ok(s);
            }
            if start.elapsed() > timeout {
                return Err(Error::NotCommitted {
                    tx: id.to_string(),
                    waited: timeout,
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Submits and waits for the commit.
    pub fn submit_and_wait(&self, tx: &Transaction, timeout: Duration) -> Result<TxStatus, Error> {
        let id = self.submit(tx)?;
        self.wait_committed(&id, timeout)
    }

    /// `GET /v1/blocks/latest`.
    pub fn latest_block(&self) -> Result<BlockWithCommit, Error> {
        self.get("/v1/blocks/latest")
    }

    /// `GET /v1/blocks/{height}`.
    pub fn block(&self, height: Height) -> Result<BlockWithCommit, Error> {
        self.get(&format!("/v1/blocks/{}", height.0))
    }

    /// `GET /v1/light/{height}`: the light-client proof of block `height` from genesis.
    pub fn light_proof(&self, height: Height) -> Result<LightProof, Error> {
        self.get(&format!("/v1/light/{}", height.0))
    }

    /// `GET /v1/elections`.
    pub fn elections(&self) -> Result<Vec<ElectionSummary>, Error> {
        self.get("/v1/elections")
    }

    /// `GET /v1/elections/{id}`.
    pub fn election(&self, id: &str) -> Result<ElectionSummary, Error> {
        self.get(&format!("/v1/elections/{id}"))
    }

    /// `GET /v1/elections/{id}/envelopes`: every accepted envelope, in order.
    pub fn envelopes(&self, id: &str) -> Result<Vec<Envelope>, Error> {
        let e: ElectionEnvelopes = self.get(&format!("/v1/elections/{id}/envelopes"))?;
        Ok(e.envelopes)
    }

    /// `GET /v1/elections/{id}/results`.
    pub fn results(&self, id: &str) -> Result<Results, Error> {
        self.get(&format!("/v1/elections/{id}/results"))
    }

    /// `GET /v1/elections/{id}/verdicts`.
    pub fn verdicts(&self, id: &str) -> Result<Vec<CommittedVerdicts>, Error> {
        self.get(&format!("/v1/elections/{id}/verdicts"))
    }

    /// `GET /v1/elections/{id}/ballots/{hash}`: a committed ballot found by its receipt.
    pub fn ballot(&self, id: &str, receipt: &str) -> Result<crate::wire::BallotLookup, Error> {
        self.get(&format!("/v1/elections/{id}/ballots/{receipt}"))
    }

    /// `GET /v1/stats/consortia`.
    pub fn stats_consortia(&self) -> Result<Vec<tabella_ledger::stats::ConsortiumEntry>, Error> {
        self.get("/v1/stats/consortia")
    }

    /// `GET /v1/stats/consortia/{id}`.
    pub fn stats_consortium(
        &self,
        id: &str,
    ) -> Result<tabella_ledger::stats::ConsortiumEntry, Error> {
        self.get(&format!("/v1/stats/consortia/{id}"))
    }

    /// `GET /v1/stats/queries`.
    pub fn stats_queries(&self) -> Result<Vec<tabella_ledger::stats::QueryView>, Error> {
        self.get("/v1/stats/queries")
    }

    /// `GET /v1/stats/queries/{id}`.
    pub fn stats_query(&self, id: &str) -> Result<tabella_ledger::stats::QueryView, Error> {
        self.get(&format!("/v1/stats/queries/{id}"))
    }

    /// `GET /v1/stats/queries/{id}/proofs`.
    pub fn stats_proofs(&self, id: &str) -> Result<tabella_ledger::stats::QueryProofs, Error> {
        self.get(&format!("/v1/stats/queries/{id}/proofs"))
    }

    /// `GET /v1/stats/queries/{id}/proofs?from=N`: the proofs from position `N` on.
    pub fn stats_proofs_from(
        &self,
        id: &str,
        from: usize,
    ) -> Result<tabella_ledger::stats::QueryProofs, Error> {
        self.get(&format!("/v1/stats/queries/{id}/proofs?from={from}"))
    }

    /// `GET /v1/stats/queries/{id}/verdicts`.
    pub fn stats_verdicts(&self, id: &str) -> Result<tabella_ledger::stats::QueryVerdicts, Error> {
        self.get(&format!("/v1/stats/queries/{id}/verdicts"))
    }
}
