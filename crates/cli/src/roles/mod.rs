//! The commands of every election role against a running node: keys, the council, trustees, the
//! identity validator, the registrar, table jurors and voters.
//!
//! Each command reads the election from the node (every accepted envelope, replayed into a local
//! `ElectionState`), builds its one signed action with the keys from the keystore, submits it and
//! waits until it is committed. Pure steps live without I/O so they are unit-tested: building a
//! manifest (`Manifest::builder`) and parsing choices and tables (`tabella_election::choice`,
//! `tabella_election::manifest::parse_table`) in the election crate, the key ceremony's next move
//! in `trustee.rs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use tabella_election::action::{Envelope, OfficialAction, SignedAction};
use tabella_election::ids::{Digest32, ElectionId};
use tabella_election::manifest::Manifest;
use tabella_election::sign::{OfficialKey, OfficialSecret};
use tabella_election::state::{ElectionState, ProofCheck};
use tabella_ledger::tx::Transaction;
use tabella_node::client::NodeClient;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::keystore::{Keystore, Passphrase};

pub mod council;
pub mod files;
pub mod identity_validator;
pub mod keys;
pub mod registrar;
pub mod table;
pub mod trustee;
pub mod voter;

/// Options every role command takes.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// The node's HTTP API.
    #[arg(
        long,
        env = "TABELLA_NODE",
        default_value = "http://127.0.0.1:7400",
        global = true
    )]
    pub node: String,
    /// The keystore directory.
    #[arg(long, env = "TABELLA_KEYSTORE", default_value = crate::keystore::DEFAULT_DIR, global = true)]
    pub keystore: PathBuf,
    /// Read the keystore passphrase from this file, readable by its owner only (default: the
    /// TABELLA_PASSPHRASE variable).
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
}

impl Common {
    /// The keystore (created if missing).
    pub fn keystore(&self) -> anyhow::Result<Keystore> {
        Keystore::open(&self.keystore)
    }
    /// The passphrase.
    pub fn passphrase(&self) -> anyhow::Result<Passphrase> {
        crate::keystore::passphrase(self.passphrase_file.as_deref())
    }
    /// A client of the node.
    pub fn client(&self) -> NodeClient {
        NodeClient::new(&self.node)
    }

    /// The start of an official's command: the election id and the official's key `as_`, opened
    /// (it must be a `role` key).
    pub fn open_official(
        &self,
        election: &str,
        as_: &str,
        role: Role,
    ) -> anyhow::Result<(ElectionId, Official)> {
        let id = election_id(election)?;
        let me = Official::open(&self.keystore()?, as_, role, &self.passphrase()?)?;
        Ok((id, me))
    }

    /// A client of the node and election `id` as the node knows it ([`load`]).
    pub fn load(&self, id: &ElectionId) -> anyhow::Result<(NodeClient, ElectionView)> {
        let client = self.client();
        let chain = load(&client, id)?;
        Ok((client, chain))
    }
}

/// An official role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Electoral council: creates, opens, closes the election, publishes results.
    Council,
    /// Trustee: holds a share of the election key (key ceremony, decryption).
    Trustee,
    /// Identity validator: checks voters against the whitelist, blind-signs their tokens.
    // Not one of the ledger's validators (the verifying nodes). Older versions called this role
    // `validator`; the command line and stored keys still accept that name.
    #[value(alias = "validator")]
    #[serde(alias = "validator")]
    IdentityValidator,
    /// Registrar: enables the stealth keys of anonymous notes.
    Registrar,
    /// Table juror: authorizes in-person voters at a polling table.
    Juror,
}

impl Role {
    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Council => "council",
            Role::Trustee => "trustee",
            Role::IdentityValidator => "identity-validator",
            Role::Registrar => "registrar",
            Role::Juror => "juror",
        }
    }

    /// "a council key", "an identity-validator key": the role's key in a sentence.
    pub fn a_key(self) -> String {
        let article = match self {
            Role::IdentityValidator => "an",
            Role::Council | Role::Trustee | Role::Registrar | Role::Juror => "a",
        };
        format!("{article} {} key", self.name())
    }
}

/// Public part of an official's key entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OfficialPublic {
    /// The role.
    pub role: Role,
    /// ed25519 key signing the official's actions.
    pub signing_key: tabella_election::sign::OfficialKey,
    /// Identity validator: the RSA blind-signature key for registration tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_key: Option<tabella_crypto::blind::IssuerPublicKey>,
}

/// Secret part of an official's key entry (hex), zeroized on drop.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct OfficialSecretFile {
    /// ed25519 secret key.
    pub signing: String,
    /// Identity validator: RSA key (PKCS#8 DER).
    #[serde(default)]
    pub token_pkcs8: Option<String>,
}

/// An official's keys, opened.
pub struct Official {
    /// Key name.
    pub name: String,
    /// Public part.
    pub public: OfficialPublic,
    /// Secret part.
    pub secret: OfficialSecretFile,
}

impl Official {
    /// Opens key `name`, which must have `role`.
    pub fn open(ks: &Keystore, name: &str, role: Role, pass: &Passphrase) -> anyhow::Result<Self> {
        let public: OfficialPublic = ks.public(name, "key")?;
        if public.role != role {
            bail!(
                "key '{name}' in {} is {}, not {}; pass the {} key's name with --as",
                ks.dir().display(),
                public.role.a_key(),
                role.a_key(),
                role.name()
            );
        }
        let secret: OfficialSecretFile = ks.secret(name, "key", pass)?;
        Ok(Official {
            name: name.to_string(),
            public,
            secret,
        })
    }

    /// Refuses this key unless it is `key`, the one the manifest of `id` names for `holder`
    /// ("the registrar", …).
    pub fn must_be(&self, key: &OfficialKey, holder: &str, id: &ElectionId) -> anyhow::Result<()> {
        if &self.public.signing_key != key {
            bail!("key '{}' is not {holder} of election '{id}'", self.name);
        }
        Ok(())
    }

    /// The ed25519 signing key.
    pub fn signing(&self) -> anyhow::Result<OfficialSecret> {
        let mut b = hex::decode(&self.secret.signing)
            .map_err(|_| anyhow!("key '{}' is corrupted", self.name))?;
        let arr: [u8; 32] = b
            .as_slice()
            .try_into()
            .map_err(|_| anyhow!("key '{}' is corrupted", self.name))?;
        b.zeroize();
        let k = OfficialSecret::from_bytes(&arr);
        let mut arr = arr;
        arr.zeroize();
        Ok(k)
    }
}

/// Parses an election id argument.
pub fn election_id(s: &str) -> anyhow::Result<ElectionId> {
    ElectionId::new(s).map_err(|e| anyhow!("--election: {e}"))
}

/// The election as the node knows it: every accepted envelope, replayed.
pub struct ElectionView {
    /// The accepted envelopes in order.
    pub log: Vec<Envelope>,
    /// The state they lead to.
    pub state: ElectionState,
}

impl ElectionView {
    /// The manifest.
    pub fn manifest(&self) -> anyhow::Result<&Manifest> {
        self.state
            .manifest()
            .ok_or_else(|| anyhow!("the election has no manifest"))
    }

    /// The phase name.
    pub fn phase(&self) -> &'static str {
        self.state
            .phase()
            .map(|p| p.name())
            .unwrap_or("not created")
    }
}

/// Maps a node client error to one clear line.
pub fn node_error(e: tabella_node::error::Error) -> anyhow::Error {
    match e {
        tabella_node::error::Error::Api { message, .. } => anyhow!("the node refused: {message}"),
        other => anyhow!("{other}"),
    }
}

/// Reads election `id` from the node and replays it (the node verified every proof already).
pub fn load(client: &NodeClient, id: &ElectionId) -> anyhow::Result<ElectionView> {
    let unknown = || {
        anyhow!(
            "unknown election '{id}' on the node at {}; check --election (the council creates it with `tabella election create`)",
            client.base()
        )
    };
    let log = match client.envelopes(id.as_str()) {
        Ok(l) => l,
        Err(tabella_node::error::Error::Api { status: 404, .. }) => return Err(unknown()),
        Err(e) => return Err(node_error(e)),
    };
    if log.is_empty() {
        return Err(unknown());
    }
    let mut state = ElectionState::new();
    for (i, env) in log.iter().enumerate() {
        state
            .apply_with(env, ProofCheck::AlreadyVerified)
            .map_err(|e| anyhow!("envelope {i} served by the node does not replay: {e}"))?;
    }
    Ok(ElectionView { log, state })
}

/// The ledger transaction that carries `env`: [`Transaction::election`], which reads the election
/// id from the envelope's signed payload. Every command that sends envelopes to a node wraps them
/// here (roles, `demo`, `bench ledger`).
pub fn election_tx(env: Envelope) -> anyhow::Result<Transaction> {
    Transaction::election(env).map_err(|e| anyhow!("cannot build the transaction: {e}"))
}

/// [`election_tx`] for each envelope, in order.
pub fn election_txs(envs: &[Envelope]) -> anyhow::Result<Vec<Transaction>> {
    envs.iter().cloned().map(election_tx).collect()
}

/// Submits an envelope and waits until it is committed; returns its hash.
pub fn submit(client: &NodeClient, env: Envelope) -> anyhow::Result<Digest32> {
    let hash = env.hash();
    let tx = election_tx(env)?;
    client
        .submit_and_wait(&tx, Duration::from_secs(120))
        .map_err(node_error)?;
    Ok(hash)
}

/// Signs an official action, checks it against the election as last read from the node (so a
/// mistake is explained before anything is sent; the node checks it again), submits it and waits
/// until it is committed.
pub fn submit_action(
    client: &NodeClient,
    state: &ElectionState,
    id: &ElectionId,
    action: OfficialAction,
    key: &OfficialSecret,
) -> anyhow::Result<Digest32> {
    let name = action.name();
    let env = Envelope::Official(SignedAction::sign(id, action, key)?);
    state
        .clone()
        .apply(&env)
        .map_err(|e| anyhow!("{name} refused: {e}"))?;
    submit(client, env)
}

/// Refuses a file written for another election: "PATH is WHAT election 'THEIRS', not 'ID'", where
/// `what` reads "a request for", "the whitelist of", ….
pub fn same_election(path: &Path, what: &str, theirs: &str, id: &ElectionId) -> anyhow::Result<()> {
    if theirs != id.as_str() {
        bail!(
            "{} is {what} election '{theirs}', not '{id}'",
            path.display()
        );
    }
    Ok(())
}

/// Reads and parses a JSON file, with a clear error naming it.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        anyhow!(
            "{} is not a valid {what} file ({e}); pass the file written by the previous step",
            path.display()
        )
    })
}

/// Writes a JSON file readable by its owner only.
pub fn write_json<T: Serialize>(path: &Path, v: &T) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(v)?;
    bytes.push(b'\n');
    crate::keystore::write_private(path, &bytes)
}

/// Hex of a compressed Ristretto point.
pub fn point_hex(p: &curve25519_dalek::ristretto::RistrettoPoint) -> String {
    hex::encode(p.compress().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_validator_role_reads_its_old_name() {
        let r = Role::IdentityValidator;
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"identity_validator\"");
        for stored in ["\"identity_validator\"", "\"validator\""] {
            assert_eq!(serde_json::from_str::<Role>(stored).unwrap(), r);
        }
        // A key written before the rename.
        let old = format!(
            r#"{{"role":"validator","signing_key":{}}}"#,
            serde_json::to_string(&OfficialSecret::generate(&mut rand_core::OsRng).public())
                .unwrap()
        );
        assert_eq!(
            serde_json::from_str::<OfficialPublic>(&old).unwrap().role,
            r
        );
        for arg in ["identity-validator", "validator"] {
            assert_eq!(Role::from_str(arg, false).unwrap(), r);
        }
        assert_eq!(r.name(), "identity-validator");
        assert_eq!(r.a_key(), "an identity-validator key");
        assert_eq!(Role::Juror.a_key(), "a juror key");
        assert!(Role::from_str("identity_validator", false).is_err());
    }
}
