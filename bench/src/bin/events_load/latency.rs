//! `latency`: one clip at a time, timed from the PUT to every device of its
//! user, with every delivery checked.

use super::net::*;
use super::*;

/// What the reader tasks report, timestamped on arrival.
pub(crate) enum Note {
    /// A `clip.created` reached device `device` of `user`.
    Arrival { event: ClipEvent, user: usize, device: usize, at: Instant },
    /// A connection ended (close frame, error or EOF).
    Closed { user: usize, device: usize, why: String },
}

/// What a `clip.created` says about its clip.
pub(crate) struct ClipEvent {
    id: String,
    kind: Option<String>,
    preview: Option<String>,
    origin: Option<String>,
}

/// The clip of a `clip.created` event, None for any other message.
pub(crate) fn clip_created(text: &str) -> Option<ClipEvent> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    if json["type"] != "clip.created" {
        return None;
    }
    let clip = &json["clip"];
    let field = |name: &str| clip[name].as_str().map(str::to_string);
    Some(ClipEvent {
        id: field("id")?,
        kind: field("kind"),
        preview: field("preview"),
        origin: field("origin_device_id"),
    })
}

/// Drains one socket for as long as it is open.
pub(crate) async fn read_events(
    mut socket: Socket,
    user: usize,
    device: usize,
    notes: mpsc::UnboundedSender<Note>,
) {
    let why = loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let at = Instant::now();
                if let Some(event) = clip_created(&text) {
                    let _ = notes.send(Note::Arrival { event, user, device, at });
                }
            }
            Some(Ok(Message::Close(frame))) => break format!("closed by the server: {frame:?}"),
            Some(Ok(_)) => {} // pings (answered by tungstenite), binary: nothing to do
            Some(Err(e)) => break e.to_string(),
            None => break "connection ended".to_string(),
        }
    };
    let _ = notes.send(Note::Closed { user, device, why });
}

/// Percentiles of a sample, in ms (nearest rank).
pub(crate) struct Summary {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

pub(crate) fn summarize(samples: &[Duration]) -> Summary {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let rank = |p: f64| -> f64 {
        if ms.is_empty() {
            return f64::NAN;
        }
        let k = ((p / 100.0) * ms.len() as f64).ceil() as usize;
        ms[k.clamp(1, ms.len()) - 1]
    };
    Summary { p50: rank(50.0), p90: rank(90.0), p99: rank(99.0), max: rank(100.0) }
}

pub(crate) fn out_summary(name: &str, samples: &[Duration]) {
    let s = summarize(samples);
    for (key, value) in [("p50", s.p50), ("p90", s.p90), ("p99", s.p99), ("max", s.max)] {
        out(&format!("{name}.{key}_ms"), format!("{value:.3}"));
    }
}

/// One `clip.created` as seen by one device.
pub(crate) struct Arrival {
    user: usize,
    device: usize,
    at: Instant,
    kind: Option<String>,
    preview: Option<String>,
    origin: Option<String>,
}

/// A clip that was PUT, and what its event must say.
pub(crate) struct Sent {
    user: usize,
    text: String,
    origin: String,
}

/// Everything seen, for the final tally.
#[derive(Default)]
pub(crate) struct Ledger {
    /// clip id -> every arrival of its `clip.created`.
    arrivals: HashMap<String, Vec<Arrival>>,
    closed: Vec<(usize, usize, String)>,
}

impl Ledger {
    fn record(&mut self, note: Note) {
        match note {
            Note::Arrival { event, user, device, at } => {
                let ClipEvent { id, kind, preview, origin } = event;
                self.arrivals.entry(id).or_default().push(Arrival { user, device, at, kind, preview, origin })
            }
            Note::Closed { user, device, why } => {
                if self.closed.len() < 5 {
                    log(&format!("connection {device} of user {user} ended: {why}"));
                }
                self.closed.push((user, device, why));
            }
        }
    }

    /// How many distinct devices of `user` have `clip`.
    fn reached(&self, clip: &str, user: usize) -> usize {
        let Some(list) = self.arrivals.get(clip) else { return 0 };
        list.iter().filter(|a| a.user == user).map(|a| a.device).collect::<HashSet<_>>().len()
    }

    fn arrival(&self, clip: &str, user: usize, device: usize) -> Option<Instant> {
        self.arrivals.get(clip)?.iter().find(|a| a.user == user && a.device == device).map(|a| a.at)
    }
}

pub(crate) async fn latency_mode(opts: &Opts) -> Result<ExitCode> {
    let http = http_client()?;
    let (users, devices) = (opts.users.unwrap_or(1), opts.devices);
    let accounts = register(&http, &opts.server, users, REGISTER_CONCURRENCY).await?;
    let accounts = sign_in_devices(&http, &opts.server, accounts, devices - 1, REGISTER_CONCURRENCY).await?;
    let total = users * devices;
    out("users", users);
    out("devices", devices);

    log(&format!("opening {total} WebSocket connections (one per device, {devices} per user)"));
    const METHODS: [Auth; 3] = [Auth::Header, Auth::Query, Auth::Protocol];
    let target = |i: usize| {
        (accounts[i / devices][i % devices].token.as_str(), METHODS[(i % devices) % METHODS.len()])
    };
    let sockets = match &opts.listen_server {
        None => open_sockets(&opts.server, total, opts.concurrency, target).await,
        Some(listen) => {
            // Even devices (device 0, the sender, among them) on --server, odd ones
            // (device 1, the timed one, among them) on --listen-server; merged back
            // in order of i.
            let (even, odd): (Vec<usize>, Vec<usize>) = (0..total).partition(|i| (i % devices) % 2 == 0);
            log(&format!("{} of them on {listen}, {} on {}", odd.len(), even.len(), opts.server));
            let on_a = open_sockets(&opts.server, even.len(), opts.concurrency, |k| target(even[k])).await;
            let on_b = open_sockets(listen, odd.len(), opts.concurrency, |k| target(odd[k])).await;
            let mut merged: Vec<(usize, Result<Socket>)> =
                even.iter().copied().zip(on_a).chain(odd.iter().copied().zip(on_b)).collect();
            merged.sort_by_key(|(i, _)| *i);
            merged.into_iter().map(|(_, r)| r).collect()
        }
    };
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    for (i, socket) in sockets.into_iter().enumerate() {
        let socket = socket
            .map_err(|e| format!("connection {} of user {}: {}", i % devices, i / devices, chain(&*e)))?;
        tokio::spawn(read_events(socket, i / devices, i % devices, notes_tx.clone()));
    }
    drop(notes_tx);
    out("connections", total);
    let elsewhere =
        if opts.listen_server.is_some() { (0..total).filter(|i| (i % devices) % 2 == 1).count() } else { 0 };
    out("connections.listen_server", elsewhere);

    // Device 0 sends; the measured device is another one (1), if there is one.
    let watch = if devices > 1 { 1 } else { 0 };
    let url = format!("{}/api/v1/buffer", opts.server);
    let mut ledger = Ledger::default();
    let mut sent: HashMap<String, Sent> = HashMap::new();
    let (mut after_put, mut after_start, mut put) = (Vec::new(), Vec::new(), Vec::new());
    let (mut early, mut timeouts) = (0usize, 0usize);
    log(&format!(
        "putting {} clips from device 0, one at a time, round-robin over {users} users",
        opts.clips
    ));
    let started = Instant::now();
    for i in 0..opts.clips {
        let user = i % users;
        let sender = &accounts[user][0];
        let text = format!("events_load clip {i} for user {user}");
        let t0 = Instant::now();
        let response = http
            .put(&url)
            .bearer_auth(&sender.token)
            .header("x-data-type", "text")
            .body(text.clone())
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let t1 = Instant::now();
        if status != reqwest::StatusCode::CREATED {
            return Err(format!(
                "PUT /api/v1/buffer: HTTP {status}: {:.300}",
                String::from_utf8_lossy(&body)
            )
            .into());
        }
        let clip: serde_json::Value = serde_json::from_slice(&body)?;
        let id = clip["id"].as_str().ok_or("no id in the PUT response")?.to_string();
        if sent.insert(id.clone(), Sent { user, text, origin: sender.device_id.clone() }).is_some() {
            return Err(format!("PUT /api/v1/buffer answered clip id {id} twice").into());
        }
        put.push(t1 - t0);

        // Wait for the event at every device of the user (or time out).
        let deadline = tokio::time::Instant::from_std(t1 + opts.timeout);
        while ledger.reached(&id, user) < devices {
            match tokio::time::timeout_at(deadline, notes.recv()).await {
                Ok(Some(note)) => ledger.record(note),
                Ok(None) | Err(_) => break,
            }
        }
        match ledger.arrival(&id, user, watch) {
            Some(t2) => {
                if t2 < t1 {
                    early += 1;
                }
                after_put.push(t2.saturating_duration_since(t1));
                after_start.push(t2.saturating_duration_since(t0));
            }
            None => timeouts += 1,
        }
        if (i + 1) % 250 == 0 && i + 1 < opts.clips {
            log(&format!("{} clips", i + 1));
        }
    }
    let elapsed = started.elapsed();
    // Late or misdelivered events: give them a moment to show up.
    let grace = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(Some(note)) = tokio::time::timeout_at(grace, notes.recv()).await {
        ledger.record(note);
    }

    // The tally: each clip's event exactly once at each device of its owner, nowhere
    // else, and saying what was sent: a text clip, its text, from device 0.
    let (mut missing, mut duplicate, mut foreign, mut unknown, mut wrong) = (0usize, 0, 0, 0, 0);
    for (clip, expect) in &sent {
        let list = ledger.arrivals.get(clip).map(Vec::as_slice).unwrap_or(&[]);
        for device in 0..devices {
            match list.iter().filter(|a| a.user == expect.user && a.device == device).count() {
                0 => missing += 1,
                1 => {}
                n => duplicate += n - 1,
            }
        }
        foreign += list.iter().filter(|a| a.user != expect.user).count();
        for a in list.iter().filter(|a| a.user == expect.user) {
            let right = a.kind.as_deref() == Some("text")
                && a.preview.as_deref() == Some(expect.text.as_str())
                && a.origin.as_deref() == Some(expect.origin.as_str());
            if !right {
                if wrong < 3 {
                    log(&format!(
                        "clip {clip} at device {} of user {}: kind {:?}, preview {:?}, origin {:?}; \
                         sent text {:?} from {}",
                        a.device, a.user, a.kind, a.preview, a.origin, expect.text, expect.origin
                    ));
                }
                wrong += 1;
            }
        }
    }
    for (clip, list) in &ledger.arrivals {
        if !sent.contains_key(clip) {
            unknown += list.len();
        }
    }
    let closed = ledger.closed.len();

    log(&format!(
        "{} clips in {:.1} s ({:.0} clips/s)",
        opts.clips,
        elapsed.as_secs_f64(),
        opts.clips as f64 / elapsed.as_secs_f64()
    ));
    out("clips", opts.clips);
    out("measured", after_put.len());
    out("timeouts", timeouts);
    out_summary("event_after_put", &after_put);
    out("event_after_put.early", early);
    out_summary("event_after_start", &after_start);
    out_summary("put", &put);
    out("deliveries.expected", opts.clips * devices);
    out("deliveries.missing", missing);
    out("deliveries.duplicate", duplicate);
    out("deliveries.foreign", foreign);
    out("deliveries.unknown", unknown);
    out("deliveries.wrong", wrong);
    out("connections.closed", closed);
    let errors = missing + duplicate + foreign + unknown + wrong + closed;
    out("errors", errors);
    if errors > 0 {
        log(&format!(
            "delivery errors: {missing} missing, {duplicate} duplicate, {foreign} to another user, \
             {unknown} of unknown clips, {wrong} with the wrong content, {closed} connections closed"
        ));
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}
