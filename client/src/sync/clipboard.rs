//! The clipboard as the sync engine sees it: a small trait, so the engine
//! runs against the real OS clipboard ([`super::ArboardClipboard`]) or an
//! in-memory one ([`MemoryClipboard`]) that tests and benchmarks share
//! between two engines in one process.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// A clipboard operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("clipboard: {0}")]
pub struct ClipboardError(pub String);

/// An image as 8-bit RGBA pixels, row after row, no padding.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Image({}x{}, {} bytes)", self.width, self.height, self.rgba.len())
    }
}

/// What the sync engine needs from a clipboard. Calls may block (the X11
/// backend waits for the selection owner): the engine makes them on a
/// blocking thread.
pub trait Clipboard: Send + Sync + 'static {
    /// The text on the clipboard; `None` when it holds no text.
    fn read_text(&self) -> Result<Option<String>, ClipboardError>;
    /// Replaces the clipboard's content with `text`.
    fn write_text(&self, text: &str) -> Result<(), ClipboardError>;
    /// The image on the clipboard; `None` when it holds no image.
    fn read_image(&self) -> Result<Option<Image>, ClipboardError>;
    /// Replaces the clipboard's content with `image`.
    fn write_image(&self, image: &Image) -> Result<(), ClipboardError>;
    /// True when the current content is marked secret by a password
    /// manager and must not leave this machine.
    fn is_concealed(&self) -> bool;
    /// A signal that the clipboard may have changed (the value counts
    /// changes), where the backend has events; `None` means "poll me".
    fn changes(&self) -> Option<watch::Receiver<u64>> {
        None
    }
}

#[derive(Default)]
struct Content {
    text: Option<String>,
    image: Option<Image>,
    concealed: bool,
}

struct Inner {
    content: Mutex<Content>,
    changed: watch::Sender<u64>,
    events: bool,
    reads: Mutex<u64>,
}

/// An in-memory clipboard. Clones share the same content, so a test holds
/// one clone and gives the other to an engine ("a device").
#[derive(Clone)]
pub struct MemoryClipboard {
    inner: Arc<Inner>,
}

impl Default for MemoryClipboard {
    fn default() -> Self {
        MemoryClipboard::new()
    }
}

impl MemoryClipboard {
    /// An empty clipboard that signals its changes (event-driven engine).
    pub fn new() -> MemoryClipboard {
        MemoryClipboard::with_events(true)
    }

    /// An empty clipboard that offers no change signal, so the engine
    /// polls it, as it does the X11/Wayland clipboard without events.
    pub fn polling() -> MemoryClipboard {
        MemoryClipboard::with_events(false)
    }

    fn with_events(events: bool) -> MemoryClipboard {
        let (changed, _) = watch::channel(0);
        MemoryClipboard {
            inner: Arc::new(Inner {
                content: Mutex::new(Content::default()),
                changed,
                events,
                reads: Mutex::new(0),
            }),
        }
    }

    fn replace(&self, content: Content) {
        *self.inner.content.lock().unwrap_or_else(|e| e.into_inner()) = content;
        self.inner.changed.send_modify(|n| *n += 1);
    }

    /// Copies `text` (as a user would).
    pub fn set_text(&self, text: &str) {
        self.replace(Content { text: Some(text.into()), ..Content::default() });
    }

    /// Copies `text` marked as a password manager's secret.
    pub fn set_concealed_text(&self, text: &str) {
        self.replace(Content { text: Some(text.into()), image: None, concealed: true });
    }

    /// Copies an image.
    pub fn set_image(&self, image: Image) {
        self.replace(Content { image: Some(image), ..Content::default() });
    }

    /// Empties the clipboard.
    pub fn clear(&self) {
        self.replace(Content::default());
    }

    /// The current text.
    pub fn text(&self) -> Option<String> {
        self.inner.content.lock().unwrap_or_else(|e| e.into_inner()).text.clone()
    }

    /// The current image.
    pub fn image(&self) -> Option<Image> {
        self.inner.content.lock().unwrap_or_else(|e| e.into_inner()).image.clone()
    }

    /// How many times the content changed (every set, by a user or an engine).
    pub fn change_count(&self) -> u64 {
        *self.inner.changed.borrow()
    }

    /// A receiver that sees every change, whatever mode the clipboard is in
    /// (for tests and benchmarks waiting on an engine's write).
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// How many reads (text or image) engines made.
    pub fn reads(&self) -> u64 {
        *self.inner.reads.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count_read(&self) {
        *self.inner.reads.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }
}

impl Clipboard for MemoryClipboard {
    fn read_text(&self) -> Result<Option<String>, ClipboardError> {
        self.count_read();
        Ok(self.text())
    }

    fn write_text(&self, text: &str) -> Result<(), ClipboardError> {
        self.set_text(text);
        Ok(())
    }

    fn read_image(&self) -> Result<Option<Image>, ClipboardError> {
        self.count_read();
        Ok(self.image())
    }

    fn write_image(&self, image: &Image) -> Result<(), ClipboardError> {
        self.set_image(image.clone());
        Ok(())
    }

    fn is_concealed(&self) -> bool {
        self.inner.content.lock().unwrap_or_else(|e| e.into_inner()).concealed
    }

    fn changes(&self) -> Option<watch::Receiver<u64>> {
        self.inner.events.then(|| self.inner.changed.subscribe())
    }
}
