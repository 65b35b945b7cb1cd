//! Creating the control socket safely: refuse to take over a socket another
//! daemon is serving, remove a stale one left by a crash, and set its mode
//! before anyone can use it.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio::net::UnixListener;

/// Binds the control socket at `path` with permission bits `mode`.
pub async fn bind(path: &Path, mode: u32) -> io::Result<UnixListener> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match tokio::net::UnixStream::connect(path).await {
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "{} is served by a running daemon; stop it or choose another [api] socket",
                    path.display()
                ),
            ));
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(_) => {
            // A socket file nobody answers on: left behind by a crash.
            std::fs::remove_file(path)?;
        }
    }
    // Bind with a restrictive umask in effect is not possible without
    // unsafe code; bind into place, then narrow the mode before serving.
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileTypeExt;

    use super::*;

    #[tokio::test]
    async fn the_socket_gets_its_mode_and_a_stale_one_is_replaced() {
        let directory =
            std::env::temp_dir().join(format!("podroute-socket-test-{}", std::process::id()));
        let path = directory.join("api.sock");
        let first = bind(&path, 0o660).await.unwrap();
        let metadata = std::fs::metadata(&path).unwrap();
        assert!(metadata.file_type().is_socket());
        assert_eq!(metadata.permissions().mode() & 0o777, 0o660);

        let error = bind(&path, 0o660).await.unwrap_err();
        assert_eq!(
            error.kind(),
            io::ErrorKind::AddrInUse,
            "a live daemon's socket is not taken over"
        );

        drop(first);
        bind(&path, 0o600)
            .await
            .expect("a stale socket is replaced");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
