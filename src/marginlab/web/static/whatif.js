// What-if page: sliders and price fields -> POST the move -> redraw the three scenarios and the chart.
// Every number comes from the server (the exact engine); this file only formats and draws them.
// No build step, no framework: the page works with this file and plotly.min.js, both served by the package.
(function () {
  "use strict";
  const form = document.getElementById("whatif-form");
  if (!form) return;
  const moveUrl = form.dataset.moveUrl;
  const initial = JSON.parse(document.getElementById("whatif-initial").textContent);
  const book = initial.book;
  const asset = book.asset;
  const DEBOUNCE_MS = 120;
  const COLORS = { "as-is": "#2ca02c", cross: "#d62728", isolated: "#1f77b4" };
  const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function decimals(step) {
    const text = String(step);
    const dot = text.indexOf(".");
    return dot < 0 ? 0 : text.length - dot - 1;
  }

  function price(value, symbol) {
    if (value === null || value === undefined) return "none";
    const dp = decimals(book.ticks[symbol] || "0.01");
    return Number(value).toLocaleString("en-US", { minimumFractionDigits: dp, maximumFractionDigits: dp });
  }

  function percent(fraction, digits) {
    if (fraction === null || fraction === undefined) return "—";
    const shown = (Number(fraction) * 100).toFixed(digits === undefined ? 2 : digits);
    return (Number(shown) === 0 ? shown.replace("-", "") : shown) + " %"; // no "-0.00 %" at the price
  }

  function amount(value) {
    return value === null || value === undefined ? "—" : money.format(Number(value)) + " " + asset;
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  // --------------------------------------------------------------- inputs: slider <-> price field
  const changeRange = document.getElementById("change-range");
  const changeField = document.getElementById("change");

  function onTick(symbol, fraction) {
    const tick = Number(book.ticks[symbol]);
    const mark = Number(book.marks[symbol]);
    const steps = Math.round((mark * (1 + fraction)) / tick);
    return (steps * tick).toFixed(decimals(book.ticks[symbol]));
  }

  function syncPercent(symbol) {
    const field = document.getElementById("price-" + symbol);
    const out = document.getElementById("pct-" + symbol);
    const value = Number(field.value);
    const mark = Number(book.marks[symbol]);
    if (out) out.textContent = Number.isFinite(value) && field.value.trim() !== ""
      ? ((value / mark - 1) * 100).toFixed(2) + " % vs mark"
      : "";
  }

  changeRange.addEventListener("input", function () {
    changeField.value = changeRange.value;
    schedule();
  });
  changeField.addEventListener("input", function () {
    const value = Number(changeField.value);
    if (changeField.value.trim() !== "" && Number.isFinite(value)) changeRange.value = String(value);
    schedule();
  });
  function syncRange(symbol) {
    const field = document.getElementById("price-" + symbol);
    const range = document.getElementById("range-" + symbol);
    const value = Number(field.value);
    const mark = Number(book.marks[symbol]);
    if (field.value.trim() !== "" && Number.isFinite(value)) range.value = ((value / mark - 1) * 100).toFixed(1);
  }

  for (const range of form.querySelectorAll("input[data-role=price-range]")) {
    const symbol = range.dataset.symbol;
    const field = document.getElementById("price-" + symbol);
    range.addEventListener("input", function () {
      field.value = onTick(symbol, Number(range.value) / 100);
      touch(symbol, true);
      syncPercent(symbol);
      schedule();
    });
    field.addEventListener("input", function () {
      syncRange(symbol);
      touch(symbol, true);
      syncPercent(symbol);
      schedule();
    });
    syncPercent(symbol);
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send();
  });
  form.addEventListener("reset", function () {
    // every field goes back to its value attribute, which follow() keeps at the live mark
    for (const symbol of Object.keys(book.marks)) touch(symbol, false);
    window.setTimeout(function () {
      for (const symbol of Object.keys(book.marks)) syncPercent(symbol);
      send();
    }, 0);
  });

  // --------------------------------------------------------------- live marks (on the venue only)
  // A price field the user has not touched follows its symbol's live mark; a touched one stays where the
  // user put it until its "reset to mark" button (or "Back to the marks") attaches it again. Without a
  // live URL (a portfolio file: marks never move) none of this runs.
  const touched = new Set();

  function touch(symbol, on) {
    if (on) touched.add(symbol);
    else touched.delete(symbol);
    const button = form.querySelector('button[data-role=follow][data-symbol="' + symbol + '"]');
    if (button) button.hidden = !on;
  }

  for (const button of form.querySelectorAll("button[data-role=follow]")) {
    button.addEventListener("click", function () {
      const symbol = button.dataset.symbol;
      const field = document.getElementById("price-" + symbol);
      field.value = book.marks[symbol];
      document.getElementById("range-" + symbol).value = "0";
      field.removeAttribute("aria-invalid");
      touch(symbol, false);
      syncPercent(symbol);
      field.focus(); // the button hides itself: keyboard focus lands on the field it reset
      schedule();
    });
  }

  function follow(marks) {
    let moved = false;
    for (const [symbol, mark] of Object.entries(marks)) {
      if (!(symbol in book.marks) || book.marks[symbol] === mark) continue;
      book.marks[symbol] = mark;
      moved = true;
      const field = document.getElementById("price-" + symbol);
      field.defaultValue = mark; // "Back to the marks" goes to the live mark, not the page's first one
      const shown = form.querySelector('[data-role=mark][data-symbol="' + symbol + '"]');
      if (shown) shown.textContent = mark;
      if (touched.has(symbol)) {
        syncRange(symbol); // the user's price stays; its distance from the new mark changes
      } else {
        field.value = mark;
        document.getElementById("range-" + symbol).value = "0";
      }
      syncPercent(symbol);
    }
    // the book itself moved (the server reads the account's marks): recompute, within the slider's debounce
    if (moved) schedule();
  }

  function listen(url) {
    const status = document.getElementById("live-status");
    function setStatus(state, text) {
      if (status) {
        status.dataset.state = state;
        status.textContent = text;
      }
    }
    const held = Object.keys(book.marks).sort().join(",");
    const source = new EventSource(url);
    source.onopen = function () { setStatus("on", "live"); };
    source.onerror = function () { setStatus("off", "reconnecting…"); };
    source.addEventListener("signedout", function () {
      source.close();
      window.location.assign("/signin");
    });
    source.onmessage = function (event) {
      const snap = JSON.parse(event.data);
      const marks = snap.marks || {};
      if (Object.keys(marks).sort().join(",") !== held) {
        // a position opened or closed: this page's book is not the account's any more
        setStatus("on", "positions changed: reload the page to see them");
      } else {
        setStatus("on", "live");
      }
      follow(marks);
    };
  }

  if (form.dataset.liveUrl && window.EventSource) listen(form.dataset.liveUrl);

  // --------------------------------------------------------------- the request (debounced, last one wins)
  let timer = null;
  let sequence = 0;

  function schedule() {
    if (timer !== null) window.clearTimeout(timer);
    timer = window.setTimeout(send, DEBOUNCE_MS);
  }

  function payload() {
    const prices = {};
    for (const field of form.querySelectorAll("input[data-role=price]")) prices[field.dataset.symbol] = field.value.trim();
    return { prices: prices, change: changeField.value.trim() };
  }

  function clearErrors() {
    for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  }

  function showError(field, message) {
    const node = document.getElementById("error-" + field) || document.getElementById("error-form");
    node.textContent = message;
    const input = form.querySelector('[name="' + field + '"]');
    if (input) input.setAttribute("aria-invalid", "true");
  }

  async function send() {
    timer = null;
    const mine = ++sequence;
    document.body.classList.add("whatif-busy");
    let response;
    try {
      response = await fetch(moveUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload()),
        credentials: "same-origin",
      });
    } catch (err) {
      if (mine === sequence) showError("form", "the server did not answer (" + err + ")");
      return;
    } finally {
      if (mine === sequence) document.body.classList.remove("whatif-busy");
    }
    const data = await response.json();
    if (mine !== sequence) return; // a newer move is on its way
    clearErrors();
    if (!response.ok) {
      showError(data.field || "form", data.error || "refused");
      return;
    }
    draw(data);
  }

  // --------------------------------------------------------------- drawing
  function drawScenario(name, s) {
    const card = document.getElementById("scenario-" + name);
    if (!card) return;
    const refused = card.querySelector(".refused");
    const table = card.querySelector("table");
    refused.hidden = !s.refused;
    refused.textContent = s.refused || "";
    table.hidden = !!s.refused;
    for (const key of ["equity_before", "equity_at_prices", "equity_after"]) {
      card.querySelector('[data-field="' + key + '"]').textContent = s.refused ? "—" : amount(s[key]);
    }
    const lost = s.refused ? null : Number(s.equity_after) - Number(s.equity_before);
    const delta = card.querySelector('[data-field="change"]');
    delta.textContent = lost === null ? "—" : (lost >= 0 ? "+" : "−") + money.format(Math.abs(lost)) + " " + asset;
    delta.className = lost !== null && lost < 0 ? "num loss" : "num";
    const count = card.querySelector('[data-field="liquidated"]');
    count.textContent = s.refused ? "" : s.liquidated.length ? "liquidated: " + s.liquidated.join(", ") : "nothing liquidated";
    count.className = s.liquidated && s.liquidated.length ? "liquidated-count alert" : "liquidated-count";
    const body = table.querySelector("tbody");
    body.replaceChildren();
    for (const p of s.positions || []) {
      const row = el("tr");
      row.dataset.position = p.label;
      if (p.liquidated) row.className = "danger liquidated";
      else if (Number(p.qty_liquidated) > 0) row.className = "danger partial";
      const badge = el("span", p.mode, "badge " + p.mode);
      const symbol = el("th");
      symbol.scope = "row";
      symbol.append(p.symbol + " " + p.side + " ", badge);
      if (p.liquidated || Number(p.qty_liquidated) > 0) {
        symbol.append(" ", el("span", p.liquidated ? "liquidated" : "partly liquidated", "state"));
      }
      row.title = "moved price " + price(p.price, p.symbol) + " " + asset;
      row.append(
        symbol,
        el("td", price(p.liquidation_price, p.symbol), "num"),
        el("td", percent(p.distance_to_liquidation), "num"),
        el("td", percent(p.margin_ratio), "num"),
        el("td", money.format(Number(p.at_stake)), "num"),
      );
      body.append(row);
    }
  }

  function drawChart(data) {
    const target = document.getElementById("whatif-chart");
    if (!target || typeof Plotly === "undefined") return;
    const traces = [];
    let lo = -10;
    let hi = 10; // the axis always spans ±10 %, so a tiny gap is not blown up to fill the chart
    for (const [name, s] of Object.entries(data.scenarios)) {
      if (s.refused) continue;
      const ps = s.positions.filter(function (p) { return p.liquidation_price !== null; });
      traces.push({
        type: "scatter",
        mode: "markers",
        name: name,
        x: ps.map(function (p) { return p.label; }),
        y: ps.map(function (p) {
          const y = (Number(p.liquidation_price) / Number(p.price) - 1) * 100;
          lo = Math.min(lo, y);
          hi = Math.max(hi, y);
          return y;
        }),
        text: ps.map(function (p) {
          return name + ": liquidation " + price(p.liquidation_price, p.symbol) + " · moved price " + price(p.price, p.symbol) +
            (p.liquidated ? " · liquidated" : "");
        }),
        hoverinfo: "text",
        marker: {
          color: COLORS[name] || "#999",
          size: 13,
          symbol: ps.map(function (p) { return p.liquidated ? "x" : "circle"; }),
          line: { width: 1, color: "#fff" },
        },
      });
    }
    const layout = {
      template: "plotly_white",
      margin: { t: 30, r: 10, b: 60, l: 70 },
      height: 360,
      yaxis: {
        title: { text: "liquidation price vs moved price (%)" },
        range: [lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05],
        tickformat: ".1f",
        ticksuffix: " %",
        zeroline: false,
      },
      xaxis: { type: "category" },
      scattermode: "group",
      legend: { orientation: "h", y: 1.12 },
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 0, y1: 0, line: { color: "#222", width: 2 } }],
      annotations: [{ xref: "paper", x: 1, y: 0, xanchor: "right", yanchor: "bottom", text: "moved price", showarrow: false }],
    };
    Plotly.react(target, traces, layout, { displayModeBar: false, responsive: true });
  }

  function draw(data) {
    for (const [name, s] of Object.entries(data.scenarios)) drawScenario(name, s);
    drawChart(data);
    document.getElementById("whatif-status").textContent =
      "prices: " + Object.entries(data.prices).map(function (e) { return e[0] + " " + price(e[1], e[0]); }).join(", ");
  }

  draw(initial.move);
})();
