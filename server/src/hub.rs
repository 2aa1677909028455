//! The per-user broadcast hub: a channel per connected user. Each event is
//! serialized once and shared by all of that user's devices; a device that
//! falls behind by more than the channel holds is dropped (it catches up
//! from the history on reconnect), so a stuck client costs nobody else.
//! It knows nothing of the server's state: `events` feeds it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cloudbuffer_protocol::Event;
use tokio::sync::broadcast;

/// Events a device may lag behind before it is disconnected.
pub const CHANNEL_CAPACITY: usize = 256;

/// What a user's connections receive.
#[derive(Debug, Clone)]
pub enum Message {
    /// One serialized event, shared by all of the user's devices.
    Event(Arc<str>),
    /// This device was signed out: its connections close.
    SignedOut(Arc<str>),
    /// Events may have been missed: every connection closes with 4000 so its
    /// client reconnects and catches up from the history.
    Resync,
}

/// The per-user channels.
#[derive(Debug, Default)]
pub struct EventHub {
    users: Mutex<HashMap<String, broadcast::Sender<Message>>>,
}

impl EventHub {
    /// Subscribes a connection of `user_id`, or None if the user already
    /// has `max` connections (checked under the lock, so racing connects
    /// cannot overshoot).
    pub fn subscribe(&self, user_id: &str, max: usize) -> Option<broadcast::Receiver<Message>> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let sender =
            users.entry(user_id.to_string()).or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0);
        (sender.receiver_count() < max).then(|| sender.subscribe())
    }

    /// True if some device of the user is connected.
    pub fn has_subscribers(&self, user_id: &str) -> bool {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.get(user_id).is_some_and(|sender| sender.receiver_count() > 0)
    }

    /// Sends an event to every connected device of `user_id`.
    pub fn publish(&self, user_id: &str, event: &Event) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let Some(sender) = users.get(user_id) else { return };
        if sender.receiver_count() == 0 {
            users.remove(user_id);
            return;
        }
        match serde_json::to_string(event) {
            Ok(json) => {
                let _ = sender.send(Message::Event(json.into()));
            }
            Err(e) => tracing::error!(error = %e, "cannot serialize event"),
        }
    }

    /// Closes the event connections of a device that was signed out.
    pub fn sign_out(&self, user_id: &str, device_id: &str) {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = users.get(user_id) {
            let _ = sender.send(Message::SignedOut(device_id.into()));
        }
    }

    /// Tells every connection of `user_id` to reconnect and catch up.
    pub fn resync(&self, user_id: &str) {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = users.get(user_id) {
            let _ = sender.send(Message::Resync);
        }
    }

    /// Tells every connection of every user to reconnect and catch up.
    pub fn resync_all(&self) {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        for sender in users.values() {
            let _ = sender.send(Message::Resync);
        }
    }

    /// Connected devices, all users together.
    pub fn connections(&self) -> usize {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.values().map(|s| s.receiver_count()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: usize) -> Event {
        Event::ClipDeleted { id: i.to_string() }
    }

    #[test]
    fn a_device_that_stops_reading_is_cut_off_not_buffered_for() {
        let hub = EventHub::default();
        let mut stuck = hub.subscribe("alice", 8).unwrap();
        let mut other = hub.subscribe("bob", 8).unwrap();
        for i in 0..CHANNEL_CAPACITY + 10 {
            hub.publish("alice", &event(i));
        }
        hub.publish("bob", &event(0));
        assert!(matches!(stuck.try_recv(), Err(broadcast::error::TryRecvError::Lagged(10))));
        assert!(matches!(other.try_recv(), Ok(Message::Event(json)) if json.contains("clip.deleted")));
        assert!(other.try_recv().is_err(), "bob got only his own event");
    }

    #[test]
    fn users_without_devices_cost_nothing() {
        let hub = EventHub::default();
        let receiver = hub.subscribe("alice", 8).unwrap();
        assert!(hub.has_subscribers("alice"));
        drop(receiver);
        hub.publish("alice", &event(1));
        assert!(!hub.has_subscribers("alice"));
        assert_eq!(hub.users.lock().unwrap().len(), 0);
    }

    #[test]
    fn connections_beyond_the_cap_are_refused_until_one_leaves() {
        let hub = EventHub::default();
        let first = hub.subscribe("alice", 2).unwrap();
        let _second = hub.subscribe("alice", 2).unwrap();
        assert!(hub.subscribe("alice", 2).is_none());
        assert!(hub.subscribe("bob", 2).is_some(), "the cap is per user");
        drop(first);
        assert!(hub.subscribe("alice", 2).is_some());
    }
}
