//! The operator commands that talk to a running daemon, and `check-config`.
//! Each prints a human view by default and the API's JSON with `--json`.

#![allow(
    clippy::indexing_slicing,
    reason = "serde_json::Value[key] yields Null for a missing key; it cannot panic"
)]

pub mod fib;
pub mod neighbors;
pub mod routes;
pub mod table;

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::api::client::{Client, ClientError};
use crate::cli::{NeighborAction, NeighborCommand, Output};

/// `podroute check-config FILE`: every error with file:line:column, exit 1.
pub fn check_config(path: &Path) -> ExitCode {
    match config::load(path) {
        Ok(config) => {
            println!(
                "{}: ok ({} neighbors, {} listen ranges, {} originated prefixes, {} policies)",
                path.display(),
                config.neighbors.len(),
                config.listen_ranges.len(),
                config.originate.len(),
                config.policies.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in &errors.errors {
                println!("{error}");
            }
            eprintln!("{} error(s)", errors.errors.len());
            ExitCode::from(1)
        }
    }
}

/// Runs one request-and-print command against the daemon.
pub fn remote(
    socket: &Path,
    run: impl AsyncFnOnce(&Client) -> Result<String, ClientError>,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("podroute: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let client = Client::new(socket);
    match runtime.block_on(run(&client)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("podroute: {error}");
            ExitCode::from(1)
        }
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// `podroute status`.
pub async fn status(client: &Client, output: Output) -> Result<String, ClientError> {
    let status = client.get("/status").await?;
    if output.json {
        return Ok(pretty(&status));
    }
    Ok(format!(
        "podroute {}\n  router id {}, AS {}\n  up {}\n  neighbors {} ({} established)\n",
        status["version"].as_str().unwrap_or("?"),
        status["router_id"].as_str().unwrap_or("?"),
        status["asn"],
        table::duration(status["uptime_seconds"].as_u64().unwrap_or(0)),
        status["neighbors"],
        status["neighbors_established"],
    ))
}

/// `podroute neighbors [ADDR]`.
pub async fn neighbors(
    client: &Client,
    address: Option<&str>,
    output: Output,
) -> Result<String, ClientError> {
    match address {
        Some(address) => {
            let neighbor = client.get(&format!("/neighbors/{address}")).await?;
            Ok(if output.json {
                pretty(&neighbor)
            } else {
                neighbors::detail(&neighbor)
            })
        }
        None => {
            let list = client.get("/neighbors").await?;
            let items = list.as_array().cloned().unwrap_or_default();
            Ok(if output.json {
                pretty(&list)
            } else {
                neighbors::summary(&items)
            })
        }
    }
}

/// `podroute reload`.
pub async fn reload(client: &Client, output: Output) -> Result<String, ClientError> {
    let answer = client.post("/reload", None).await?;
    if output.json {
        return Ok(pretty(&answer));
    }
    let changes: Vec<String> = answer["changes"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(|line| format!("  {line}\n"))
                .collect()
        })
        .unwrap_or_default();
    Ok(if changes.is_empty() {
        "reloaded: nothing changed\n".into()
    } else {
        format!("reloaded:\n{}", changes.concat())
    })
}

/// `podroute neighbor ADDR shutdown|enable|reset|received|advertised`.
pub async fn neighbor(
    client: &Client,
    command: &NeighborCommand,
    output: Output,
) -> Result<String, ClientError> {
    let address = &command.address;
    let (verb, body) = match &command.action {
        NeighborAction::Received { before_policy } => {
            let path = format!("/neighbors/{address}/received?before_policy={before_policy}");
            let routes = client.get(&path).await?;
            return Ok(if output.json {
                pretty(&routes)
            } else {
                routes::render_adj(&routes)
            });
        }
        NeighborAction::Advertised => {
            let routes = client
                .get(&format!("/neighbors/{address}/advertised"))
                .await?;
            return Ok(if output.json {
                pretty(&routes)
            } else {
                routes::render_adj(&routes)
            });
        }
        NeighborAction::Shutdown { message } => (
            "shutdown",
            message.clone().map(|message| json!({ "message": message })),
        ),
        NeighborAction::Enable => ("enable", None),
        NeighborAction::Reset { message, soft } => {
            let body = match (message, soft) {
                (None, None) => None,
                _ => Some(json!({ "message": message, "soft": soft })),
            };
            ("reset", body)
        }
    };
    let answer = client
        .post(&format!("/neighbors/{address}/{verb}"), body)
        .await?;
    Ok(if output.json {
        pretty(&answer)
    } else {
        format!(
            "neighbor {address}: {}\n",
            answer["result"].as_str().unwrap_or(verb)
        )
    })
}

/// `podroute routes [PREFIX]`.
pub async fn routes(
    client: &Client,
    query: &crate::cli::RoutesCommand,
) -> Result<String, ClientError> {
    let mut parameters = Vec::new();
    if let Some(prefix) = &query.prefix {
        parameters.push(format!("prefix={prefix}"));
    }
    if let Some(family) = query.family {
        parameters.push(format!(
            "family={}",
            if family == crate::cli::FamilyName::Ipv4 {
                "ipv4"
            } else {
                "ipv6"
            }
        ));
    }
    if query.explain {
        parameters.push("explain=true".into());
    }
    let path = if parameters.is_empty() {
        "/routes".to_owned()
    } else {
        format!("/routes?{}", parameters.join("&"))
    };
    let answer = client.get(&path).await?;
    Ok(if query.output.json {
        pretty(&answer)
    } else {
        routes::render(
            answer.as_array().map(Vec::as_slice).unwrap_or_default(),
            query.explain,
        )
    })
}

/// `podroute fib`.
pub async fn fib(client: &Client, output: Output) -> Result<String, ClientError> {
    let answer = client.get("/fib").await?;
    Ok(if output.json {
        pretty(&answer)
    } else {
        fib::render(&answer)
    })
}
