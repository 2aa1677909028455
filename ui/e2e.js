// Settings → End-to-end encryption: the state for the account and this
// computer, and the dialog that turns it on, unlocks, or changes the
// passphrase. The key derivation (argon2, a fraction of a second) runs in
// the app, off the UI's thread; meanwhile the dialog shows it is busy.
"use strict";

const e2e = {
  view: null,
  mode: "",
  busy: false,

  /** What each state says, and which buttons it offers. */
  states: {
    off: {
      badge: "Off", pill: "pill paused",
      line: "Off for this account: the server can read your clips and files.",
      help: "Turned on, this computer encrypts clips, files and their names before they leave it, and only your devices can open them.",
      buttons: ["#e2e-enable"],
    },
    locked: {
      badge: "Locked", pill: "pill offline",
      line: "On for this account, but locked on this computer.",
      help: "Until you unlock it here with the encryption passphrase, this computer cannot open encrypted items and sends nothing.",
      buttons: ["#e2e-unlock"],
    },
    unlocked: {
      badge: "On", pill: "pill online",
      line: "On, and unlocked on this computer: what it sends is encrypted first.",
      help: "The server still sees sizes, times and which device sent what. Locking this computer forgets the key here; the passphrase unlocks it again.",
      buttons: ["#e2e-passwd", "#e2e-lock"],
    },
    unsupported: {
      badge: "Unavailable", pill: "pill",
      line: "This server has no end-to-end encryption: it needs a newer Cloud Buffer.",
      help: "", buttons: [],
    },
  },

  async refresh() {
    const view = await call("e2e_status", {}, { quiet: true });
    if (view) this.render(view);
  },

  render(view) {
    this.view = view;
    const shown = this.states[view.state] || this.states.unsupported;
    const badge = $("#e2e-badge");
    badge.className = shown.pill;
    badge.textContent = shown.badge;
    $("#e2e-line").textContent = shown.line;
    $("#e2e-help").textContent = shown.help;
    for (const id of ["#e2e-enable", "#e2e-unlock", "#e2e-passwd", "#e2e-lock"]) $(id).hidden = !shown.buttons.includes(id);
    const card = $("#e2e");
    card.dataset.state = view.state;
    card.removeAttribute("aria-busy");
  },

  /** Opens the dialog for `mode`: enable, unlock or passwd. */
  open(mode) {
    this.mode = mode;
    const texts = {
      enable: ["Turn on end-to-end encryption", "Choose an encryption passphrase (not your login password; at least 8 characters, a few words are best). Your other devices unlock with it.", "New passphrase", "Turn on"],
      unlock: ["Unlock this computer", "Type the encryption passphrase chosen when end-to-end encryption was turned on.", "Encryption passphrase", "Unlock"],
      passwd: ["Change the encryption passphrase", "The key stays the same: nothing is re-encrypted, and unlocked devices keep working. New devices unlock with the new passphrase.", "New passphrase", "Change"],
    }[mode];
    $("#e2e-title").textContent = texts[0];
    $("#e2e-intro").textContent = texts[1];
    $("#e2e-pass-text").textContent = texts[2];
    $("#e2e-submit").textContent = texts[3];
    $("#e2e-warning").hidden = mode !== "enable";
    $("#e2e-current-label").hidden = mode !== "passwd";
    $("#e2e-again-label").hidden = mode === "unlock";
    $("#e2e-pass").autocomplete = mode === "unlock" ? "current-password" : "new-password";
    for (const id of ["#e2e-current", "#e2e-pass", "#e2e-again"]) $(id).value = "";
    this.error("");
    this.setBusy(false);
    $("#e2e-dialog").showModal();
    (mode === "passwd" ? $("#e2e-current") : $("#e2e-pass")).focus();
  },

  error(message) {
    $("#e2e-error").hidden = !message;
    $("#e2e-error").textContent = message;
  },

  setBusy(busy) {
    this.busy = busy;
    $("#e2e-form").setAttribute("aria-busy", String(busy));
    for (const node of document.querySelectorAll("#e2e-form input, #e2e-form button")) node.disabled = busy;
    $("#e2e-busy").textContent = busy ? "Deriving the key from the passphrase… (this takes a moment)" : "";
  },

  async submit() {
    const current = $("#e2e-current").value, pass = $("#e2e-pass").value, again = $("#e2e-again").value;
    if (!pass || (this.mode === "passwd" && !current)) return this.error("Type the passphrase.");
    if (this.mode !== "unlock" && pass !== again) return this.error("The two passphrases differ.");
    const [command, args] = {
      enable: ["e2e_enable", { passphrase: pass }],
      unlock: ["e2e_unlock", { passphrase: pass }],
      passwd: ["e2e_change_passphrase", { current, new: pass }],
    }[this.mode];
    this.error("");
    this.setBusy(true);
    try {
      const view = await invoke(command, args);
      this.setBusy(false);
      $("#e2e-dialog").close();
      this.render(view);
      toast({ enable: "End-to-end encryption is on", unlock: "Unlocked on this computer", passwd: "Passphrase changed" }[this.mode]);
      this.changed();
    } catch (e) {
      this.setBusy(false);
      if (e && e.code === "signed_out") { $("#e2e-dialog").close(); return showSignIn(e.message); }
      this.error(e && e.message ? e.message : String(e));
      (this.mode === "passwd" && /current|wrong/i.test(e && e.message) ? $("#e2e-current") : $("#e2e-pass")).select();
    }
  },

  async lock() {
    $("#e2e-lock").disabled = true;
    const view = await call("e2e_lock");
    $("#e2e-lock").disabled = false;
    if (!view) return;
    this.render(view);
    toast("Locked: this computer no longer holds the key");
    this.changed();
    $("#e2e-unlock").focus();
  },

  /** Names and previews open (or close) with the key: redraw the lists. */
  changed() {
    views.clipboard.refresh();
    views.files.refresh();
  },
};

window.addEventListener("DOMContentLoaded", () => {
  $("#e2e-enable").addEventListener("click", () => e2e.open("enable"));
  $("#e2e-unlock").addEventListener("click", () => e2e.open("unlock"));
  $("#e2e-passwd").addEventListener("click", () => e2e.open("passwd"));
  $("#e2e-lock").addEventListener("click", () => e2e.lock());
  $("#e2e-form").addEventListener("submit", (event) => {
    if (event.submitter && event.submitter.value === "cancel") return;
    event.preventDefault();
    if (!e2e.busy) e2e.submit();
  });
  // Escape while the key is being derived would hide the outcome.
  $("#e2e-dialog").addEventListener("cancel", (event) => { if (e2e.busy) event.preventDefault(); });
});
