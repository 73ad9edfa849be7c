// The upload page: each file goes to /api/v1/uploads over tus (tus-js-client, vendored), resumes
// after a dropped connection (retries) or a page reload (the upload's URL kept in localStorage
// under the file's fingerprint), then its analysis is followed until it is done.
"use strict";

(() => {
  const form = document.getElementById("upload-form");
  const rows = document.querySelector("#uploads tbody");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const chunkSize = Number(form.dataset.chunkBytes);
  const settled = new Set(["ready", "failed", "unsupported"]);

  const field = (name) => form.elements[name].value.trim();
  const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };

  function row(file) {
    const tr = document.createElement("tr");
    const name = cell(file.name);
    name.dir = "auto";
    const sent = document.createElement("td");
    const bar = document.createElement("progress");
    bar.max = file.size || 1;
    bar.value = 0;
    bar.setAttribute("aria-label", `Sent of ${file.name}`);
    const amount = document.createElement("span");
    sent.append(bar, " ", amount);
    const status = cell("waiting");
    status.setAttribute("role", "status");
    tr.append(name, sent, status);
    rows.append(tr);
    return { tr, bar, amount, status };
  }

  async function json(url) {
    const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!answer.ok) throw new Error(`${answer.status} ${(await answer.json()).detail || ""}`);
    return answer.json();
  }

  async function follow(uploadUrl, shown) {
    // The upload is archived by its last chunk's request; then the clip is analysed.
    let clipId = null;
    while (!clipId) {
      clipId = (await json(uploadUrl)).clip_id;
      if (!clipId) await new Promise((done) => setTimeout(done, 500));
    }
    for (;;) {
      const clip = await json(`/api/v1/clips/${clipId}`);
      shown.status.textContent = clip.status + (clip.status_reason ? `: ${clip.status_reason}` : "");
      shown.status.dataset.status = clip.status;
      if (!shown.link) {
        shown.link = document.createElement("a");
        shown.link.href = `/clips/${clipId}`;
        shown.link.textContent = "open";
        shown.tr.cells[0].append(" ", shown.link);
      }
      if (settled.has(clip.status)) return;
      await new Promise((done) => setTimeout(done, 1000));
    }
  }

  function send(file) {
    const shown = row(file);
    const metadata = { filename: file.name, filetype: file.type || "application/octet-stream" };
    for (const name of ["source", "source_url", "captured_at", "note", "case_id"]) {
      if (field(name)) metadata[name] = field(name);
    }
    const upload = new tus.Upload(file, {
      endpoint: "/api/v1/uploads",
      chunkSize,
      metadata,
      headers: { "X-CSRF-Token": csrf },
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      removeFingerprintOnSuccess: true,
      onProgress(bytesSent, bytesTotal) {
        shown.bar.value = bytesSent;
        shown.amount.textContent = `${Math.floor((bytesSent / (bytesTotal || 1)) * 100)}%`;
        shown.status.textContent = "sending";
      },
      onError(error) {
        const said = error.originalResponse ? error.originalResponse.getBody() : String(error);
        let detail = said;
        try { detail = JSON.parse(said).detail || said; } catch (_) { /* not JSON */ }
        shown.status.textContent = `not sent: ${detail}`;
        shown.status.dataset.status = "error";
      },
      onSuccess() {
        shown.status.textContent = "archiving";
        follow(upload.url, shown).catch((error) => { shown.status.textContent = `could not follow: ${error.message}`; });
      },
    });
    upload.findPreviousUploads().then((earlier) => {
      if (earlier.length) {
        upload.resumeFromPreviousUpload(earlier[0]);
        shown.status.textContent = "continuing an earlier upload";
      }
      upload.start();
    });
  }

  const take = (files) => { for (const file of files) send(file); };
  document.getElementById("u-files").addEventListener("change", (event) => take(event.target.files));
  const drop = document.getElementById("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    take(event.dataTransfer.files);
  });
})();
