//! Sending mail with SMTP (RFC 5321) through lettre: to the embedded receiver or to a real
//! server (Postfix). The carrier is built by [`crate::carrier`]; this only submits the bytes.

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::error::{Error, Result};

/// An SMTP client for one server.
#[derive(Clone)]
pub struct SmtpClient {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: String,
}

impl std::fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpClient")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl SmtpClient {
    /// A client for `host:port`, without TLS or authentication (loopback servers; D-44).
    pub fn plain(host: &str, port: u16, hello: &str) -> Self {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .hello_name(ClientId::Domain(hello.to_string()))
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        SmtpClient {
            transport,
            server: format!("{host}:{port}"),
        }
    }

    /// Submits `mail` (a whole RFC 5322 message) from `from` to `to`.
    pub async fn send(&self, from: &str, to: &str, mail: &[u8]) -> Result<()> {
        let parse = |a: &str| {
            a.parse::<Address>()
                .map_err(|e| Error::BadParameters(format!("address {a:?}: {e}")))
        };
        let envelope = Envelope::new(Some(parse(from)?), vec![parse(to)?])
            .map_err(|e| Error::BadParameters(e.to_string()))?;
        self.transport
            .send_raw(&envelope, mail)
            .await
            .map_err(|e| {
                let why = format!("SMTP to {} via {}: {e}", to, self.server);
                if e.is_permanent() {
                    Error::Rejected(why)
                } else {
                    Error::Transport(why)
                }
            })?;
        Ok(())
    }
}
