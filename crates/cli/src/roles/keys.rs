//! `tabella keys new|list`: officials' keys in the keystore.

use anyhow::anyhow;
use clap::{Args, Subcommand};
use rand_core::OsRng;
use tabella_election::sign::OfficialSecret;

use super::{Common, OfficialPublic, OfficialSecretFile, Role};

/// `tabella keys`.
#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    cmd: KeysCmd,
}

#[derive(Subcommand, Debug)]
enum KeysCmd {
    /// Create an official's keys (sealed with the keystore passphrase).
    New {
        /// The role.
        #[arg(long, value_enum)]
        role: Role,
        /// The key's name (used with --as and in manifests).
        #[arg(long)]
        name: String,
        /// Identity validator: RSA modulus size of the token key (2048..=4096).
        #[arg(long, default_value_t = 3072)]
        token_bits: usize,
    },
    /// List the keys in the keystore (public parts only).
    List,
}

/// Runs `tabella keys`.
pub fn run(a: KeysArgs) -> anyhow::Result<()> {
    let ks = a.common.keystore()?;
    match a.cmd {
        KeysCmd::New {
            role,
            name,
            token_bits,
        } => {
            let pass = a.common.passphrase()?;
            if ks.exists(&name, "key") {
                return Err(anyhow!(
                    "key '{name}' already exists in {}; pick another name",
                    ks.dir().display()
                ));
            }
            let (public, secret) = new_key(role, token_bits)?;
            ks.put(&name, "key", &public, &secret, &pass, false)?;
            println!(
                "created {} key '{name}' in {} (public key {})",
                role.name(),
                ks.dir().display(),
                hex::encode(public.signing_key.0.as_bytes())
            );
            Ok(())
        }
        KeysCmd::List => {
            let keys = ks.list("key")?;
            if keys.is_empty() {
                println!(
                    "no keys in {}; create one with `tabella keys new --role ROLE --name NAME`",
                    ks.dir().display()
                );
            }
            for (name, v) in keys {
                let role = v.get("role").and_then(|r| r.as_str()).unwrap_or("?");
                let key = v.get("signing_key").and_then(|r| r.as_str()).unwrap_or("?");
                println!("{name:<20} {role:<18} {key}");
            }
            Ok(())
        }
    }
}

/// Generates the keys of an official.
pub fn new_key(
    role: Role,
    token_bits: usize,
) -> anyhow::Result<(OfficialPublic, OfficialSecretFile)> {
    let signing = OfficialSecret::generate(&mut OsRng);
    let mut public = OfficialPublic {
        role,
        signing_key: signing.public(),
        token_key: None,
    };
    let mut secret = OfficialSecretFile {
        signing: hex::encode(signing.to_bytes()),
        token_pkcs8: None,
    };
    match role {
        Role::IdentityValidator => {
            let (sk, pk) = tabella_crypto::blind::generate_issuer_key(token_bits, &mut OsRng)
                .map_err(|e| anyhow!("--token-bits: {e}"))?;
            public.token_key = Some(pk);
            secret.token_pkcs8 = Some(hex::encode(sk.to_pkcs8_der()?.as_slice()));
        }
        // A trustee's key-ceremony keys are made per election by `tabella trustee dkg`.
        Role::Council | Role::Trustee | Role::Registrar | Role::Juror => {}
    }
    Ok((public, secret))
}
