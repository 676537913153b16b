// Replay & risk page: start a job, poll its progress, then show the result's table and the server's figure.
(function () {
  "use strict";
  const POLL_MS = 400;
  const progressBox = document.getElementById("lab-progress");
  const bar = document.getElementById("lab-progress-bar");
  const barText = document.getElementById("lab-progress-text");
  const title = document.getElementById("lab-result-title");
  const body = document.getElementById("lab-result-body");
  const figure = document.getElementById("lab-figure");

  function clearErrors(form) {
    for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  }

  function showError(form, field, message) {
    const kind = form.dataset.kind;
    const node = document.getElementById("error-" + kind + "-" + field) || document.getElementById("error-" + kind + "-form");
    node.textContent = message;
    const input = form.querySelector('[name="' + field + '"]');
    if (input) input.setAttribute("aria-invalid", "true");
  }

  function values(form) {
    const out = { kind: form.dataset.kind };
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.type === "checkbox") {
        if (el.name === "modes") {
          out.modes = out.modes || [];
          if (el.checked) out.modes.push(el.value);
        } else {
          out[el.name] = el.checked;
        }
      } else {
        out[el.name] = el.value;
      }
    }
    return out;
  }

  function setBusy(busy) {
    for (const button of document.querySelectorAll(".lab-form button")) button.disabled = busy;
  }

  function showProgress(state) {
    progressBox.hidden = false;
    if (state.total) {
      bar.max = state.total;
      bar.value = state.done;
    } else {
      bar.removeAttribute("value"); // indeterminate
    }
    barText.textContent = state.what + (state.total ? " (" + state.done + "/" + state.total + ")" : "") + " …";
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function pct(x) {
    return x === null || x === undefined ? "—" : (x * 100).toFixed(2) + " %";
  }

  function money(x, asset) {
    return x === null || x === undefined ? "—" : x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " " + asset;
  }

  function showRisk(risk) {
    const table = document.createElement("table");
    table.className = "summary";
    const modes = Object.keys(risk.modes);
    const head = document.createElement("tr");
    head.append(document.createElement("th"));
    for (const m of modes) {
      const th = document.createElement("th");
      th.textContent = m;
      th.className = "num";
      head.append(th);
    }
    const thead = document.createElement("thead");
    thead.append(head);
    const tbody = document.createElement("tbody");
    const rows = [
      ["P(any liquidation)", function (m) { return pct(m.p_any_liquidation); }],
      ["P(wipe-out)", function (m) { return pct(m.p_wipeout); }],
      ["expected loss (" + risk.asset + ")", function (m) { return money(m.expected_loss, risk.asset); }],
      ["expected shortfall 99 % (" + risk.asset + ")", function (m) { return money(m.es99, risk.asset); }],
    ];
    const labels = new Set();
    for (const m of modes) for (const p of risk.modes[m].positions) labels.add(p.symbol + " " + p.side);
    for (const label of labels) {
      rows.push(["P(" + label + " liquidated)", function (m) {
        const p = m.positions.find(function (q) { return q.symbol + " " + q.side === label; });
        return p ? pct(p.p_liquidation) : "—";
      }]);
    }
    for (const [label, f] of rows) {
      const tr = document.createElement("tr");
      tr.append(cell(label));
      for (const m of modes) tr.append(cell(f(risk.modes[m]), "num"));
      tbody.append(tr);
    }
    table.append(thead, tbody);
    const notes = document.createElement("p");
    notes.className = "def";
    notes.textContent = risk.paths.toLocaleString("en-US") + " " + risk.model + " paths over " + risk.horizon_days +
      " day(s), seed " + risk.seed + "; " + risk.amounts + ".";
    body.replaceChildren(table, notes);
  }

  function showResult(state) {
    progressBox.hidden = true;
    title.hidden = false;
    title.textContent = state.result.title;
    if (typeof Plotly !== "undefined") Plotly.purge(figure);
    figure.replaceChildren();
    figure.hidden = true;
    if (state.kind === "risk") {
      showRisk(state.result.risk);
    } else {
      // the fragment is built and escaped server-side by the offline report's own code
      body.innerHTML = state.result.summary_html;
    }
    // the figure of either kind is the server's (the report's chart code), drawn as it is
    if (state.result.figure && typeof Plotly !== "undefined") {
      const fig = JSON.parse(state.result.figure);
      figure.hidden = false; // drawn while visible, so the figure takes the page's width
      Plotly.newPlot(figure, fig.data, fig.layout, { responsive: true, displaylogo: false });
    }
  }

  // the job could not start, or failed: stop the progress and show why next to the form
  function fail(form, field, message) {
    setBusy(false);
    progressBox.hidden = true;
    showError(form, field, message);
  }

  async function poll(form, id) {
    const response = await fetch("/replay/jobs/" + id, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const state = await response.json();
    if (!response.ok) {
      fail(form, state.field || "form", state.error);
      return;
    }
    if (state.status === "running") {
      showProgress(state);
      window.setTimeout(function () { poll(form, id); }, POLL_MS);
      return;
    }
    if (state.status === "failed") {
      fail(form, state.field || "form", state.error);
      return;
    }
    setBusy(false);
    showResult(state);
  }

  for (const form of document.querySelectorAll(".lab-form")) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      clearErrors(form);
      setBusy(true);
      showProgress({ what: "starting", done: 0, total: null });
      let response;
      try {
        response = await fetch("/replay/jobs", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify(values(form)),
          credentials: "same-origin",
        });
      } catch (err) {
        fail(form, "form", "the server did not answer (" + err + ")");
        return;
      }
      const data = await response.json();
      if (!response.ok) {
        fail(form, data.field || "form", data.error);
        return;
      }
      poll(form, data.id);
    });
  }
})();
