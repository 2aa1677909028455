// The views: clipboard, files, stats, settings, and the share dialog
// (the device list and "Add a phone": devices.js).
"use strict";

const views = {
  /** Server events keep what is on screen current. */
  onEvent(event) {
    const type = event.type;
    if (type === "resync" || type.startsWith("clip.")) views.clipboard.refresh();
    if (type === "resync" || type.startsWith("file.")) views.files.refresh();
    if (type === "stats" && app.view === "stats") views.stats.render(event.stats);
    if (type === "resync" || type.startsWith("device.")) devices.onEvent(event);
  },

  clipboard: {
    clips: [],
    load() { this.refresh(); },
    async refresh() {
      const clips = await call("list_clips", {}, { quiet: true });
      if (!clips) return;
      this.clips = clips;
      this.render();
    },
    label(clip) {
      if (clip.locked) return lockedLabel(clip.locked);
      if (clip.kind === "file" && clip.file) return { title: clip.file.name, badge: extBadge(clip.file.name) };
      return { title: clip.preview || "(empty text)", badge: "TXT" };
    },
    actions(clip) {
      const box = el("div", { class: "actions" });
      // Nothing of a locked clip can be opened or shared from here; it can go.
      if (clip.locked) {
        box.append(el("button", { class: "icon danger", text: "Delete", "aria-label": "Delete clip", onclick: () => this.remove(clip) }));
        return box;
      }
      const isImage = clip.kind === "file" && clip.file && clip.file.content_type === "image/png";
      if (clip.kind === "text" || isImage) box.append(el("button", { class: "icon", text: "Copy", title: "Put on this computer's clipboard", onclick: () => this.use(clip) }));
      if (clip.kind === "file" && clip.file) box.append(el("button", { class: "icon", text: "Download", onclick: () => views.files.download(clip.file) }));
      box.append(el("button", { class: "icon share", text: "Share", onclick: () => share.open({ clip_id: clip.id }, this.label(clip).title) }));
      box.append(el("button", { class: "icon danger", text: "Delete", "aria-label": "Delete clip", onclick: () => this.remove(clip) }));
      return box;
    },
    render() {
      const current = $("#current");
      current.replaceChildren();
      const [first, ...rest] = this.clips;
      if (!first) {
        current.append(el("p", { class: "muted", text: "Nothing on the shared clipboard yet. Copy something with auto-sync on, or press “Send clipboard now”." }));
      } else {
        const { title } = this.label(first);
        current.append(
          el("div", { class: "muted small", text: `Current clip · ${first.kind === "file" ? humanBytes(first.size) : `${first.size} bytes`} · ${ago(first.created_at)}` }),
          el("div", { class: "body", id: "current-body" }, first.locked ? lockIcon() : null, title),
          this.actions(first),
        );
      }
      const list = $("#history");
      list.replaceChildren();
      if (rest.length === 0) list.append(el("li", { class: "empty", text: "Older clips appear here." }));
      for (const clip of rest) {
        const { title, badge } = this.label(clip);
        list.append(el("li", { class: "item clip", dataset: { id: clip.id } },
          el("span", { class: "badge", "aria-hidden": "true" }, clip.locked ? lockIcon() : badge),
          el("button", { class: "main", title: clip.locked ? lockedLabel(clip.locked).why : "Put on the clipboard", onclick: () => this.use(clip) },
            el("span", { class: "title" }, clip.locked ? lockIcon() : null, title),
            el("span", { class: "meta", text: `${clip.kind === "file" ? humanBytes(clip.size) : `${clip.size} bytes`} · ${ago(clip.created_at)}` })),
          this.actions(clip)));
      }
    },
    async use(clip) {
      if (clip.locked) return toast(lockedLabel(clip.locked).why, true);
      if (clip.kind === "file" && !(clip.file && clip.file.content_type === "image/png")) return views.files.download(clip.file);
      if ((await call("use_clip", { id: clip.id })) !== undefined) toast("Copied to the clipboard");
    },
    async remove(clip) {
      await call("delete_clip", { id: clip.id });
      this.refresh();
    },
  },

  files: {
    list: [],
    load() { this.refresh(); },
    async refresh() {
      const files = await call("list_files", {}, { quiet: true });
      if (!files) return;
      this.list = files;
      this.render();
    },
    render() {
      const list = $("#files");
      list.replaceChildren();
      if (this.list.length === 0) list.append(el("li", { class: "empty", text: "No files yet. Drop some here or use “Upload files…”." }));
      for (const file of this.list) {
        if (file.locked) { list.append(this.lockedRow(file)); continue; }
        list.append(el("li", { class: "item file", dataset: { id: file.id, name: file.name } },
          el("span", { class: "badge", text: extBadge(file.name), "aria-hidden": "true" }),
          el("div", { class: "main" },
            el("span", { class: "title", text: file.name }),
            el("span", { class: "meta" }, `${humanBytes(file.size)} · ${file.downloads} download${file.downloads === 1 ? "" : "s"} · `,
              el("span", { class: "expiry", dataset: { expires: file.expires_at } }))),
          el("div", { class: "actions" },
            el("button", { class: "icon", text: "Download", onclick: () => this.download(file) }),
            el("button", { class: "icon share", text: "Share", onclick: () => share.open({ file_id: file.id }, file.name) }),
            el("button", { class: "icon danger", text: "Delete", "aria-label": `Delete ${file.name}`, onclick: () => this.remove(file) }))));
      }
      tick();
    },
    /** An encrypted file this computer cannot open: no name, only Delete. */
    lockedRow(file) {
      const { title, why } = lockedLabel(file.locked);
      return el("li", { class: "item file locked", dataset: { id: file.id, locked: file.locked }, title: why },
        el("span", { class: "badge", "aria-hidden": "true" }, lockIcon()),
        el("div", { class: "main" },
          el("span", { class: "title" }, lockIcon(), title),
          el("span", { class: "meta" }, `${humanBytes(file.size)} encrypted · `, el("span", { class: "expiry", dataset: { expires: file.expires_at } }))),
        el("div", { class: "actions" },
          el("button", { class: "icon danger", text: "Delete", "aria-label": "Delete the locked file", onclick: () => this.remove(file) })));
    },
    async download(file) {
      const saved = await call("download_file", { id: file.id, name: file.name });
      if (saved) toast(`Saved ${file.name}`);
    },
    async remove(file) {
      await call("delete_file", { id: file.id });
      this.refresh();
    },
    /** A `transfer` event: one progress row per upload or download. */
    transfer(t) {
      let row = document.getElementById(`transfer-${t.id}`);
      if (!row) {
        row = el("li", { class: "item transfer", id: `transfer-${t.id}` },
          el("span", { class: "badge", text: t.direction === "upload" ? "UP" : "DOWN", "aria-hidden": "true" }),
          el("div", { class: "main" }, el("span", { class: "title", text: t.name }), el("progress", { max: "1", value: "0" }), el("span", { class: "meta" })));
        $("#transfers").append(row);
      }
      const verb = t.direction === "upload" ? "Uploading" : "Downloading";
      row.querySelector("progress").value = t.total ? t.done / t.total : 0;
      row.querySelector("progress").setAttribute("aria-label", `${verb} ${t.name}`);
      const meta = row.querySelector(".meta");
      if (t.state === "running") meta.textContent = `${verb} · ${humanBytes(t.done)} of ${humanBytes(t.total)}`;
      if (t.state === "failed") { meta.textContent = t.error; meta.classList.add("error"); toast(`${t.name}: ${t.error}`, true); }
      if (t.state === "done") {
        meta.textContent = t.direction === "upload" ? "Uploaded" : "Saved";
        setTimeout(() => row.remove(), 2500);
        this.refresh();
      }
      if (t.state === "failed") setTimeout(() => row.remove(), 8000);
    },
  },

  stats: {
    load() { this.refresh(); },
    async refresh() { const s = await call("stats", {}, { quiet: true }); if (s) this.render(s); },
    render(s) {
      const bar = (value, max) => el("progress", { max: String(Math.max(max, 1)), value: String(value) });
      const next = s.next_expiry_at ? el("span", { class: "expiry", dataset: { expires: s.next_expiry_at, prefix: "in " } }) : "nothing";
      $("#stats").replaceChildren(
        el("div", { class: "card stat" }, el("span", { class: "muted", text: "Files" }), el("span", { class: "big", text: `${s.files} of ${s.max_files}` }), bar(s.files, s.max_files)),
        el("div", { class: "card stat" }, el("span", { class: "muted", text: "Storage" }), el("span", { class: "big", text: humanBytes(s.bytes_used) }), bar(s.bytes_used, s.quota_bytes), el("span", { class: "muted small", text: `of ${humanBytes(s.quota_bytes)}` })),
        el("div", { class: "card stat" }, el("span", { class: "muted", text: "Active share links" }), el("span", { class: "big", text: String(s.shares_active) })),
        el("div", { class: "card stat" }, el("span", { class: "muted", text: "Next expiry" }), el("span", { class: "big" }, next)),
        el("div", { class: "card stat" }, el("span", { class: "muted", text: "Clips" }), el("span", { class: "big", text: String(s.clips) })),
        el("div", { class: "card stat" }, el("span", { class: "muted", text: "Downloads" }), el("span", { class: "big", text: String(s.downloads) }), el("span", { class: "muted small", text: `${humanBytes(s.bytes_downloaded)} served` })),
      );
      tick();
    },
  },

  settings: { load() { devices.refresh(); e2e.refresh(); } },
};

/** How an encrypted item this computer cannot open is listed (after a
 *  padlock, see lockIcon), and why. */
function lockedLabel(locked) {
  return locked === "locked"
    ? { title: "locked", badge: "", why: "End-to-end encrypted: unlock this computer in Settings → End-to-end encryption to open it." }
    : { title: "cannot be decrypted", badge: "", why: "End-to-end encrypted, and it does not decrypt with this account's key (changed, or damaged)." };
}

/** A padlock drawn in SVG: an emoji needs a colour font many desktops lack. */
function lockIcon() {
  const span = el("span", { class: "lock", "aria-hidden": "true" });
  span.innerHTML = '<svg class="ico" viewBox="0 0 24 24"><rect x="5" y="11" width="14" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/></svg>';
  return span;
}

/** The share dialog. */
const share = {
  target: null,
  url: "",
  open(target, what) {
    this.target = target;
    $("#share-what").textContent = what;
    $("#share-options").hidden = false;
    $("#share-result").hidden = true;
    $("#share-error").hidden = true;
    $("#share-password").value = "";
    $("#share-once").checked = false;
    $("#share-expiry").value = "";
    $("#share-dialog").showModal();
    $("#share-expiry").focus();
  },
  async create() {
    const request = {
      ...this.target,
      expires_in: $("#share-expiry").value ? Number($("#share-expiry").value) : null,
      password: $("#share-password").value || null,
      one_time: $("#share-once").checked,
    };
    try {
      const made = await invoke("create_share", { request });
      this.url = made.url;
      $("#share-qr").innerHTML = made.qr_svg.replace(/^<\?xml[^>]*>/, "");
      $("#share-url").value = made.url;
      $("#share-key-note").hidden = !made.encrypted;
      const bits = [`Expires in ${humanDuration(secondsUntil(made.expires_at))}`];
      if (made.password_protected) bits.push("password protected");
      if (made.max_downloads === 1) bits.push("one download only");
      $("#share-meta").textContent = bits.join(" · ");
      $("#share-warning").hidden = !made.loopback_warning;
      $("#share-warning").textContent = made.loopback_warning || "";
      $("#share-options").hidden = true;
      $("#share-result").hidden = false;
      $("#share-copy").focus();
    } catch (e) {
      $("#share-error").hidden = false;
      $("#share-error").textContent = e && e.message ? e.message : String(e);
    }
  },
};

/** Live countdowns, once a second. */
function tick() {
  for (const node of document.querySelectorAll(".expiry")) {
    const left = secondsUntil(node.dataset.expires);
    const prefix = node.dataset.prefix ?? "expires in ";
    node.textContent = left > 0 ? `${prefix}${humanDuration(left)}` : "expired";
    node.classList.toggle("soon", left < 600);
  }
}
setInterval(tick, 1000);

window.addEventListener("DOMContentLoaded", () => {
  $("#send-now").addEventListener("click", async () => {
    if (await call("send_clipboard_now")) { toast("Clipboard sent"); views.clipboard.refresh(); }
  });
  $("#pick").addEventListener("click", () => call("pick_files"));
  $("#stats-refresh").addEventListener("click", () => views.stats.refresh());
  // "Create link" is the form's default button, so Enter in the password
  // field creates the link rather than cancelling.
  $("#share-form").addEventListener("submit", (event) => {
    if (event.submitter && event.submitter.value === "create") {
      event.preventDefault();
      if ($("#share-options").hidden) $("#share-dialog").close();
      else share.create();
    }
  });
  $("#share-copy").addEventListener("click", async () => {
    if ((await call("copy_to_clipboard", { text: share.url })) !== undefined) toast("Link copied");
  });
});
