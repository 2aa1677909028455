// The device list (in Settings) and the "Add a phone" dialog.
"use strict";

const devices = {
  list: [],
  /** `device.added`, `device.removed` and `resync` server events. */
  onEvent(event) {
    if (event.type === "device.added") pairing.paired(event.device);
    if (app.view === "settings") this.refresh();
  },
  async refresh() {
    const list = await call("list_devices", {}, { quiet: true });
    if (!list) return;
    this.list = list;
    this.render();
  },
  render() {
    const list = $("#devices");
    list.replaceChildren();
    // This computer first, then the newest.
    const sorted = [...this.list].sort((a, b) => (b.current - a.current) || Date.parse(b.created_at) - Date.parse(a.created_at));
    for (const device of sorted) {
      const badge = device.current ? "THIS" : device.name.replace(/[^\p{L}\p{N}]/gu, "").slice(0, 2).toUpperCase() || "DEV";
      const actions = el("div", { class: "actions" });
      if (!device.current) {
        actions.append(el("button", {
          class: "icon danger revoke", text: "Revoke", title: "Sign this device out",
          "aria-label": `Revoke ${device.name} (sign it out)`, onclick: () => this.revoke(device),
        }));
      }
      list.append(el("li", { class: "item device", dataset: { id: device.id } },
        el("span", { class: "badge", text: badge, "aria-hidden": "true" }),
        el("div", { class: "main" },
          el("span", { class: "title", text: device.current ? `${device.name} · this computer` : device.name }),
          el("span", { class: "meta", text: `Signed in ${ago(device.created_at)} · last seen ${ago(device.last_seen_at)}` })),
        actions));
    }
  },
  async revoke(device) {
    if ((await call("revoke_device", { id: device.id })) === undefined) return;
    toast(`Signed out ${device.name}`);
    this.refresh();
    $("#add-phone").focus();
  },
};

/** The "Add a phone" dialog: a one-time pairing link as a QR code, counting down. */
const pairing = {
  url: "",
  made: null,
  deadline: 0,
  timer: null,
  waiting: false,
  open() {
    $("#pair-dialog").showModal();
    $("#pair-done").focus();
    this.create();
  },
  async create() {
    this.stop();
    $("#pair-loading").hidden = false;
    $("#pair-result").hidden = true;
    $("#pair-error").hidden = true;
    $("#pair-new").hidden = true;
    try {
      const made = await invoke("create_pairing");
      this.made = made;
      this.deadline = Date.now() + made.expires_in * 1000;
      $("#pair-key-row").hidden = !made.with_key;
      $("#pair-key").checked = true;
      this.showLink();
      $("#pair-warning").hidden = !made.loopback_warning;
      $("#pair-warning").textContent = made.loopback_warning || "";
      this.showCode(true);
      const status = $("#pair-status");
      status.className = "pair-status";
      status.textContent = "";
      $("#pair-loading").hidden = true;
      $("#pair-result").hidden = false;
      this.waiting = true;
      this.tick();
      this.timer = setInterval(() => this.tick(), 1000);
      $("#pair-copy").focus();
    } catch (e) {
      $("#pair-loading").hidden = true;
      $("#pair-error").hidden = false;
      $("#pair-error").textContent = e && e.message ? e.message : String(e);
      $("#pair-new").hidden = false;
    }
  },
  /** The link (and its QR code) with the encryption key when offered and ticked. */
  showLink() {
    const made = this.made;
    const keyed = made.with_key && $("#pair-key").checked ? made.with_key : null;
    const link = keyed || made;
    this.url = link.url;
    $("#pair-qr").innerHTML = link.qr_svg.replace(/^<\?xml[^>]*>/, "");
    $("#pair-url").value = link.url;
    $("#pair-key-help").hidden = !keyed;
  },
  /** The countdown, in the (not live) help line: a screen reader hears only the outcome. */
  tick() {
    const left = Math.ceil((this.deadline - Date.now()) / 1000);
    if (left > 0) {
      $("#pair-help").textContent = `Scan this code with the phone's camera: Cloud Buffer opens there, signed in to your account. No password to type; the code works once, for ${humanDuration(left)} more.`;
      return;
    }
    this.stop();
    this.showCode(false);
    const status = $("#pair-status");
    status.className = "pair-status expired";
    status.textContent = "This code has expired. Make a new one to add a phone.";
    $("#pair-new").hidden = false;
    $("#pair-new").focus();
  },
  /** A device was added to the account: the phone used the code. */
  paired(device) {
    if (!this.waiting || !$("#pair-dialog").open) return;
    this.stop();
    this.showCode(false);
    const status = $("#pair-status");
    status.className = "pair-status paired";
    status.textContent = `Paired: ${device.name}`;
    $("#pair-help").textContent = "The phone is signed in. It is listed under Devices, where you can revoke it.";
    $("#pair-done").focus();
    devices.refresh();
  },
  showCode(shown) {
    $("#pair-qr").hidden = !shown;
    $("#pair-url").closest(".row").hidden = !shown;
    $("#pair-key-row").hidden = !shown || !(this.made && this.made.with_key);
    if (!shown) $("#pair-key-help").hidden = true;
    if (!shown) $("#pair-warning").hidden = true;
  },
  stop() {
    this.waiting = false;
    clearInterval(this.timer);
    this.timer = null;
  },
};

window.addEventListener("DOMContentLoaded", () => {
  $("#add-phone").addEventListener("click", () => pairing.open());
  $("#pair-new").addEventListener("click", () => pairing.create());
  $("#pair-key").addEventListener("change", () => pairing.showLink());
  $("#pair-copy").addEventListener("click", async () => {
    if ((await call("copy_to_clipboard", { text: pairing.url })) !== undefined) toast("Link copied");
  });
  // Closed by its button or Escape: the countdown stops; the code simply expires.
  $("#pair-dialog").addEventListener("close", () => { pairing.stop(); $("#add-phone").focus(); });
});
