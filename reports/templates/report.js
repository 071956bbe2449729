"use strict";
// kvaudit findings browser. Reads the JSON data block and builds every node with textContent:
// no data ever reaches innerHTML, so a hostile resource name stays text.
(function () {
  var SEV_RANK = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };
  var STATUS_RANK = { FAIL: 4, ERROR: 3, UNKNOWN: 2, PASS: 1, NOT_APPLICABLE: 0 };
  var PRINT_LIMIT = 2000;
  var data = JSON.parse(document.getElementById("kv-data").textContent);
  var VIEW_LIMIT = 500;
  var ISO_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]00:00)$/;
  var rules = data.rules;
  var vaults = data.vaults || [];
  var findings = data.findings.map(function (r, i) {
    return {
      i: i, severity: r[0], status: r[1], rule: rules[r[2]], name: r[3] || r[4], id: r[4], type: r[5] || "",
      message: r[6], evidence: r[7], profile: r[8] || "", fingerprint: r[9], file: r[10], line: r[11],
      suppression: r[12], vault: r[13] === undefined ? null : r[13], module: r[14] || null,
      declaredFile: r[15] || null, declaredLine: r[16] || null, source: r[17] || null, reach: r[18] || null,
      controls: r[19] || null, hay: null
    };
  });
  var state = { q: "", sev: {}, status: "", rule: "", profile: "", resource: "", supp: "", framework: "", control: "",
    vault: null, sort: null, dir: 1, page: 0, size: 50 };
  var view = findings;
  var open = {};
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  // "2026-11-23T00:00:00+00:00" -> "2026-11-23 00:00 UTC"; other values unchanged.
  function readable(v) {
    if (typeof v !== "string") return v;
    var m = ISO_TIME.exec(v);
    return m ? m[1] + " " + m[2] + " UTC" : v;
  }
  function shortType(t) { return t.slice(t.lastIndexOf("/") + 1); }
  function suppressedActive(f) { return !!(f.suppression && f.suppression.active); }
  function haystack(f) {
    if (f.hay === null) {
      f.hay = [f.rule.id, f.rule.title, f.name, f.id, f.message, f.profile, f.file || "", f.fingerprint]
        .join("\u0000").toLowerCase();
    }
    return f.hay;
  }
  // A finding's own controls when a scoped control leaves it out (CIS 8.3.1 holds only RBAC
  // vaults' keys), else its rule's.
  function controlsOf(f) { return f.controls || f.rule.compliance; }
  function hasControl(f) {
    if (!state.framework) return true;
    return controlsOf(f).some(function (m) {
      return m.framework === state.framework && (!state.control || m.control === state.control);
    });
  }
  function matches(f) {
    if (!state.sev[f.severity]) return false;
    if (state.status === "OPEN") { if (f.status !== "FAIL" && f.status !== "UNKNOWN") return false; }
    else if (state.status && f.status !== state.status) return false;
    if (state.rule && f.rule.id !== state.rule) return false;
    if (state.vault !== null && f.vault !== state.vault) return false;
    if (state.profile && f.profile !== state.profile) return false;
    if (state.supp === "suppressed" && !suppressedActive(f)) return false;
    if (state.supp === "unsuppressed" && suppressedActive(f)) return false;
    if (state.supp === "expired" && !(f.suppression && f.suppression.expired)) return false;
    if (state.resource && (f.name + "\u0000" + f.id).toLowerCase().indexOf(state.resource) < 0) return false;
    if (state.q && haystack(f).indexOf(state.q) < 0) return false;
    return hasControl(f);
  }
  var sorters = {
    severity: function (f) { return SEV_RANK[f.severity]; },
    status: function (f) { return STATUS_RANK[f.status]; },
    rule: function (f) { return f.rule.id; },
    resource: function (f) { return f.name.toLowerCase(); },
    type: function (f) { return f.type; },
    profile: function (f) { return f.profile; },
    message: function (f) { return f.message.toLowerCase(); }
  };
  function apply() {
    view = findings.filter(matches);
    if (state.sort) {
      var key = sorters[state.sort], dir = state.dir;
      view.sort(function (a, b) {
        var x = key(a), y = key(b);
        return x < y ? -dir : x > y ? dir : a.i - b.i;
      });
    }
    state.page = Math.min(state.page, Math.max(0, Math.ceil(view.length / state.size) - 1));
    draw();
  }

  function detail(f) {
    var td = el("td");
    td.colSpan = 7;
    var dl = el("dl", "detail-grid");
    function add(label, value, pre) {
      if (value === undefined || value === null || value === "") return;
      dl.appendChild(el("dt", null, label));
      var dd = el("dd");
      dd.appendChild(pre ? el("pre", null, value) : document.createTextNode(String(value)));
      dl.appendChild(dd);
    }
    add("Rule", f.rule.id + " " + f.rule.title);
    add("Rationale", f.rule.rationale);
    add("Resource id", f.id);
    add("Resource type", f.type);
    if (f.file) add("Location", f.file + (f.line ? ":" + f.line : ""));
    add("Module", f.module);
    if (f.declaredFile) add("Declared at", f.declaredFile + (f.declaredLine ? ":" + f.declaredLine : ""));
    add("Source", f.source);
    add("Reach", f.reach);
    add("Profile", f.profile || "none (baseline rules only)");
    add("Fingerprint", f.fingerprint);
    var ev = el("table");
    Object.keys(f.evidence).forEach(function (k) {
      var tr = el("tr");
      tr.appendChild(el("th", null, k));
      var v = f.evidence[k];
      tr.appendChild(el("td", null, v === null ? "unknown (not observed)" : typeof v === "string" ? readable(v) : JSON.stringify(v)));
      ev.appendChild(tr);
    });
    dl.appendChild(el("dt", null, "Evidence"));
    var evd = el("dd"); evd.appendChild(ev); dl.appendChild(evd);
    if (f.suppression) {
      var s = f.suppression;
      var text = s.kind + (s.id ? " " + s.id : "") + (s.active ? " (active)" : " (not active)") +
        (s.expired ? ", EXPIRED" : "") + (s.justification ? "; justification: " + s.justification : "") +
        (s.approver ? "; approver: " + s.approver : "") + (s.expires ? "; expires: " + s.expires : "") +
        (s.file ? "; " + s.file + (s.line ? ":" + s.line : "") : "");
      add("Suppression", text);
    }
    var rem = f.rule.remediation || {};
    add("Remediation (az CLI)", rem.cli, true);
    add("Remediation (Bicep/ARM)", rem.arm_bicep, true);
    add("Remediation (Terraform)", rem.terraform, true);
    add("Controls", controlsOf(f).map(function (m) {
      return m.framework + " " + m.control + (m.scope === "unknown" ? " (scope unknown)" : "");
    }).join(", "));
    td.appendChild(dl);
    var tr = el("tr", "detail");
    tr.appendChild(td);
    return tr;
  }

  function row(f) {
    var tr = el("tr", "finding");
    tr.setAttribute("data-fingerprint", f.fingerprint);
    tr.tabIndex = 0;
    var sev = el("td"); sev.appendChild(el("span", "sev sev-" + f.severity, f.severity)); tr.appendChild(sev);
    var st = el("td", "st-" + f.status, f.status);
    if (f.suppression) st.appendChild(el("span", "badge" + (f.suppression.expired ? " expired" : ""),
      f.suppression.active ? "suppressed: " + f.suppression.kind : "expired " + f.suppression.kind));
    tr.appendChild(st);
    var rule = el("td"); rule.appendChild(el("strong", null, f.rule.id)); rule.appendChild(el("br"));
    rule.appendChild(document.createTextNode(f.rule.title)); tr.appendChild(rule);
    var res = el("td", "res"); res.appendChild(el("span", "res-name", f.name));
    if (f.file) { res.appendChild(el("br")); res.appendChild(el("code", null, f.file + (f.line ? ":" + f.line : ""))); }
    tr.appendChild(res);
    var type = el("td", "col-type", shortType(f.type)); type.title = f.type; tr.appendChild(type);
    tr.appendChild(el("td", "col-profile", f.profile));
    tr.appendChild(el("td", null, f.message));
    function toggle() { open[f.i] = !open[f.i]; draw(); }
    tr.addEventListener("click", toggle);
    tr.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
    return tr;
  }

  function draw(all) {
    var body = $("findings-body");
    var start = all ? 0 : state.page * state.size;
    var end = all ? Math.min(view.length, PRINT_LIMIT) : Math.min(view.length, start + state.size);
    var frag = document.createDocumentFragment();
    for (var k = start; k < end; k++) {
      var f = view[k];
      frag.appendChild(row(f));
      if (open[f.i]) frag.appendChild(detail(f));
    }
    body.replaceChildren(frag);
    $("findings-count").textContent = view.length === 0 ? "No findings match." :
      "Showing " + (start + 1) + "\u2013" + end + " of " + view.length +
      (view.length !== findings.length ? " (filtered from " + findings.length + ")" : "");
    $("page-prev").disabled = state.page === 0;
    $("page-next").disabled = end >= view.length;
    $("vault-filter").hidden = state.vault === null;
    $("vault-filter-text").textContent = state.vault === null ? "" : vaults[state.vault].name;
    var filt = $("control-filter");
    filt.hidden = !state.framework;
    $("control-filter-text").textContent = state.framework + (state.control ? " " + state.control : "");
    document.querySelectorAll("#findings-table th[data-sort]").forEach(function (th) {
      var key = th.getAttribute("data-sort");
      th.setAttribute("aria-sort", state.sort === key ? (state.dir > 0 ? "ascending" : "descending") : "none");
    });
  }

  // --- routed views: a vault's page and a control's resource list ---------------------------
  var STATE_RANK = { failing: 3, unknown: 2, suppressed: 1, passing: 0 };
  function resultState(f) {
    if (f.status === "FAIL") return suppressedActive(f) ? "suppressed" : "failing";
    if (f.status === "UNKNOWN" || f.status === "ERROR") return "unknown";
    if (f.status === "PASS") return "passing";
    return null;
  }
  function table(headers, cls) {
    var t = el("table", cls || "fit"), head = el("thead"), tr = el("tr");
    headers.forEach(function (h) { tr.appendChild(el("th", h[1] || null, h[0])); });
    head.appendChild(tr); t.appendChild(head); t.appendChild(el("tbody"));
    return t;
  }
  function cells(t, values) {
    var tr = el("tr");
    values.forEach(function (v) {
      if (v instanceof Node) { var td = el("td"); td.appendChild(v); tr.appendChild(td); }
      else tr.appendChild(el("td", null, v));
    });
    t.tBodies[0].appendChild(tr);
    return tr;
  }
  function sevBadge(s) { return el("span", "sev sev-" + s, s); }
  function stateBadge(s) { return el("span", "state state-" + s, s); }
  function vaultLink(index) {
    if (index === null || !vaults[index]) return document.createTextNode("not tied to one vault");
    var a = el("a", "vault-link", vaults[index].name); a.href = "#vault=" + index; return a;
  }
  function viewHeader(view, title, subtitle) {
    var back = el("a", "back no-print", "\u2190 Back to the report"); back.href = "#summary";
    view.appendChild(back);
    view.appendChild(el("h2", null, title));
    if (subtitle) view.appendChild(el("p", "muted", subtitle));
  }
  function propertyText(v) { return v === null || v === undefined ? "unknown (not observed)" : String(readable(v)); }

  function vaultView(view, index) {
    var v = vaults[index];
    viewHeader(view, (v.kind === "managed_hsm" ? "Managed HSM " : "Key vault ") + v.name, v.display_id);
    var dl = el("dl", "props");
    function prop(k, val) {
      var pair = el("div"); pair.appendChild(el("dt", null, k)); pair.appendChild(el("dd", null, propertyText(val)));
      dl.appendChild(pair);
    }
    prop("keys", v.keys); prop("consumers of its keys", v.consumers);
    Object.keys(v.properties).forEach(function (k) { prop(k.replace(/_/g, " "), v.properties[k]); });
    if (v.file) prop("declared in", v.file);
    if (v.source) prop("source", v.source);
    view.appendChild(el("h3", null, "Properties"));
    view.appendChild(dl);
    var mine = findings.filter(function (f) { return f.vault === index; });
    var counts = { failing: 0, unknown: 0, suppressed: 0, passing: 0 };
    mine.forEach(function (f) { var s = resultState(f); if (s) counts[s] += 1; });
    view.appendChild(el("h3", null, "Findings"));
    view.appendChild(el("p", null, counts.failing + " failing, " + counts.unknown + " unknown, " + counts.suppressed +
      " suppressed, " + counts.passing + " passing results" + (data.passed_included ? "" : " (PASS results were left out of this report)") + "."));
    var open = mine.filter(function (f) { return f.status !== "PASS" && f.status !== "NOT_APPLICABLE"; });
    open.sort(function (a, b) {
      return STATE_RANK[resultState(b)] - STATE_RANK[resultState(a)] || SEV_RANK[b.severity] - SEV_RANK[a.severity] || a.i - b.i;
    });
    var t = table([["Severity", "c-sev"], ["State", "c-status"], ["Rule", "c-rule"], ["Resource", "c-res"], ["Message", "c-msg"]], "fit view-findings");
    open.slice(0, VIEW_LIMIT).forEach(function (f) {
      var rule = el("span"); rule.appendChild(el("strong", null, f.rule.id)); rule.appendChild(document.createTextNode(" " + f.rule.title));
      cells(t, [sevBadge(f.severity), stateBadge(resultState(f)), rule, f.name, f.message]);
    });
    view.appendChild(t);
    if (open.length > VIEW_LIMIT) view.appendChild(el("p", "muted", (open.length - VIEW_LIMIT) + " more: use the findings table."));
    var all = el("a", "no-print", "Show all " + mine.length + " findings of " + v.name + " in the findings table");
    all.href = "#findings";
    all.addEventListener("click", function () { state.vault = index; state.page = 0; apply(); });
    view.appendChild(el("p")).appendChild(all);
  }

  function controlView(view, framework, control) {
    var stats = (data.controls || []).filter(function (c) { return c[0] === framework && c[1] === control; })[0];
    viewHeader(view, framework + " " + control + (stats ? ": " + stats[2] : ""),
      stats ? stats[3] + " resources assessed: " + stats[4] + " passing, " + stats[5] + " failing, " + stats[6] + " unknown, " + stats[7] + " suppressed." : "");
    var byResource = {}, order = [];
    findings.forEach(function (f) {
      var s = resultState(f);
      if (!s) return;
      if (!controlsOf(f).some(function (m) { return m.framework === framework && m.control === control; })) return;
      var r = byResource[f.id];
      if (!r) { r = byResource[f.id] = { name: f.name, id: f.id, vault: f.vault, state: s, results: [] }; order.push(r); }
      if (STATE_RANK[s] > STATE_RANK[r.state]) r.state = s;
      r.results.push(f.rule.id + " " + f.status);
    });
    order.sort(function (a, b) { return STATE_RANK[b.state] - STATE_RANK[a.state] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0); });
    var t = table([["Resource", "c-res"], ["Vault or HSM", "c-vault"], ["State", "c-status"], ["Results", "c-msg"]], "fit view-resources");
    order.slice(0, VIEW_LIMIT).forEach(function (r) { cells(t, [r.name, vaultLink(r.vault), stateBadge(r.state), r.results.join(", ")]); });
    view.appendChild(t);
    if (order.length > VIEW_LIMIT) view.appendChild(el("p", "muted", (order.length - VIEW_LIMIT) + " more resources: use the findings table."));
    if (!data.passed_included) view.appendChild(el("p", "muted", "PASS results were left out of this report, so passing resources are counted but not listed."));
  }

  function route() {
    var view = $("view"), hash = decodeURIComponent(location.hash.slice(1)), m;
    view.replaceChildren();
    var shown = false;
    if ((m = /^vault=(\d+)$/.exec(hash)) && vaults[+m[1]]) { vaultView(view, +m[1]); shown = true; }
    else if ((m = /^control=([^/]+)\/(.+)$/.exec(hash))) { controlView(view, m[1], m[2]); shown = true; }
    view.hidden = !shown;
    document.body.classList.toggle("routed", shown);
    if (shown) window.scrollTo(0, 0);
  }

  function fillSelect(id, values) {
    var sel = $(id);
    values.forEach(function (v) { var o = el("option", null, v); o.value = v; sel.appendChild(o); });
  }
  function uniq(values) { return Array.from(new Set(values)).filter(function (v) { return v; }).sort(); }

  function init() {
    document.querySelectorAll("input.sev-filter").forEach(function (box) {
      state.sev[box.value] = box.checked;
      box.addEventListener("change", function () { state.sev[box.value] = box.checked; state.page = 0; apply(); });
    });
    fillSelect("filter-rule", rules.map(function (r) { return r.id; }));
    fillSelect("filter-profile", uniq(findings.map(function (f) { return f.profile; })));
    var timer = null;
    function text(id, key) {
      $(id).addEventListener("input", function (e) {
        clearTimeout(timer);
        timer = setTimeout(function () { state[key] = e.target.value.trim().toLowerCase(); state.page = 0; apply(); }, 120);
      });
    }
    text("filter-search", "q");
    text("filter-resource", "resource");
    [["filter-status", "status"], ["filter-rule", "rule"], ["filter-profile", "profile"], ["filter-supp", "supp"]]
      .forEach(function (p) {
        $(p[0]).addEventListener("change", function (e) { state[p[1]] = e.target.value; state.page = 0; apply(); });
      });
    $("page-size").addEventListener("change", function (e) { state.size = parseInt(e.target.value, 10); state.page = 0; draw(); });
    $("page-prev").addEventListener("click", function () { state.page = Math.max(0, state.page - 1); draw(); });
    $("page-next").addEventListener("click", function () { state.page += 1; draw(); });
    $("control-filter-clear").addEventListener("click", function () { state.framework = ""; state.control = ""; apply(); });
    $("vault-filter-clear").addEventListener("click", function () { state.vault = null; apply(); });
    window.addEventListener("hashchange", route);
    document.querySelectorAll("#findings-table th[data-sort] button").forEach(function (b) {
      b.addEventListener("click", function () {
        var key = b.parentNode.getAttribute("data-sort");
        if (state.sort === key) state.dir = -state.dir; else { state.sort = key; state.dir = key === "severity" || key === "status" ? -1 : 1; }
        apply();
      });
    });
    document.querySelectorAll("a[data-framework]").forEach(function (a) {
      a.addEventListener("click", function () {
        state.framework = a.getAttribute("data-framework");
        state.control = a.getAttribute("data-control") || "";
        state.status = a.getAttribute("data-status") || "";
        $("filter-status").value = state.status;
        state.page = 0;
        apply();
      });
    });
    document.querySelectorAll("a[data-supp]").forEach(function (a) {
      a.addEventListener("click", function () { state.supp = a.getAttribute("data-supp"); $("filter-supp").value = state.supp; state.page = 0; apply(); });
    });
    window.addEventListener("beforeprint", function () { draw(true); });
    window.addEventListener("afterprint", function () { draw(); });
    $("findings-js").hidden = false;
    apply();
    route();
  }
  init();
})();
