//! The CLI's side of the control API: one HTTP/1.1 request per command over
//! the daemon's Unix socket.

use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::UnixStream;

/// Why a request did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens at the socket path.
    #[error(
        "podroute is not running: no daemon answers at {0} (start one with `podroute daemon`, or pass --socket)"
    )]
    NotRunning(PathBuf),
    /// The socket exists but we may not use it.
    #[error(
        "may not connect to {0}: permission denied (the socket is mode 0660; run as root or as a member of its group)"
    )]
    PermissionDenied(PathBuf),
    /// Anything else on the way.
    #[error("talking to the daemon at {path}: {message}")]
    Transport {
        /// The socket.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The daemon answered with an error.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// The daemon's error text, with any listed details.
        message: String,
        /// The whole answer.
        body: Value,
    },
}

/// A client for one daemon's socket.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
}

impl Client {
    /// A client for the daemon listening at `socket`.
    pub fn new(socket: &Path) -> Client {
        Client {
            socket: socket.to_owned(),
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.request(Method::GET, path, None).await
    }

    /// `POST path` with an optional JSON body.
    pub async fn post(&self, path: &str, body: Option<Value>) -> Result<Value, ClientError> {
        self.request(Method::POST, path, body).await
    }

    fn transport(&self, message: impl ToString) -> ClientError {
        ClientError::Transport {
            path: self.socket.clone(),
            message: message.to_string(),
        }
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        let stream =
            UnixStream::connect(&self.socket)
                .await
                .map_err(|error| match error.kind() {
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                        ClientError::NotRunning(self.socket.clone())
                    }
                    std::io::ErrorKind::PermissionDenied => {
                        ClientError::PermissionDenied(self.socket.clone())
                    }
                    _ => self.transport(error),
                })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| self.transport(error))?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "podroute");
        // Only a request with a body says it is JSON: the server reads an
        // empty body declared as JSON as a malformed one.
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let payload = body.map(|body| body.to_string()).unwrap_or_default();
        let request = request
            .body(Full::new(Bytes::from(payload)))
            .map_err(|error| self.transport(error))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| self.transport(error))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|error| self.transport(error))?
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|error| self.transport(format!("the answer is not JSON ({error})")))?;
        if status.is_success() {
            return Ok(value);
        }
        let mut message = value
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("request failed")
            .to_owned();
        if let Some(errors) = value.get("errors").and_then(Value::as_array) {
            for item in errors.iter().filter_map(Value::as_str) {
                message.push_str("\n  ");
                message.push_str(item);
            }
        }
        Err(ClientError::Api {
            status,
            message,
            body: value,
        })
    }
}
