//! `idle`: many connections held open, for the server's memory.

use super::net::*;
use super::*;

pub(crate) async fn idle_mode(opts: &Opts) -> Result<ExitCode> {
    let http = http_client()?;
    let tokens = tokens(opts, &http).await?;
    let count = opts.connections;
    log(&format!(
        "opening {count} idle connections over {} users, {} handshakes at a time",
        tokens.len(),
        opts.concurrency
    ));
    let sockets = open_sockets(&opts.server, count, opts.concurrency, |i| {
        (tokens[i % tokens.len()].as_str(), Auth::Query)
    })
    .await;
    let open = Arc::new(AtomicUsize::new(0));
    let mut failed = 0;
    for result in sockets {
        match result {
            Ok(mut socket) => {
                open.fetch_add(1, Ordering::Relaxed);
                let open = open.clone();
                tokio::spawn(async move {
                    // Read until it ends: tungstenite answers the server's pings meanwhile.
                    while let Some(Ok(_)) = socket.next().await {}
                    open.fetch_sub(1, Ordering::Relaxed);
                });
            }
            Err(e) => {
                if failed < 5 {
                    log(&format!("connection failed: {}", chain(&*e)));
                }
                failed += 1;
            }
        }
    }
    // A moment for connections the server refuses right after the handshake to go.
    tokio::time::sleep(Duration::from_millis(500)).await;
    out("failed", failed);
    out("open", open.load(Ordering::Relaxed));

    let (done_tx, mut done) = mpsc::channel::<&'static str>(1);
    if let Some(hold) = opts.hold {
        log(&format!("holding them for {} s (or until a signal)", hold.as_secs()));
        tokio::spawn(async move {
            tokio::time::sleep(hold).await;
            let _ = done_tx.send("hold time over").await;
        });
    } else {
        log("holding them until stdin closes (or a signal)");
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            let _ = done_tx.blocking_send("stdin closed");
        });
    }
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(10),
        Duration::from_secs(10),
    );
    let why = loop {
        tokio::select! {
            why = done.recv() => break why.unwrap_or("stdin closed"),
            _ = ticker.tick() => log(&format!("{} connections open", open.load(Ordering::Relaxed))),
        }
    };
    log(&format!("{why}: closing"));
    out("open_at_end", open.load(Ordering::Relaxed));
    Ok(ExitCode::SUCCESS)
}
