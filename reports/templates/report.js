"use strict";
// kvaudit findings browser. Reads the JSON data block and builds every node with textContent:
// no data ever reaches innerHTML, so a hostile resource name stays text.
(function () {
  var SEV_RANK = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };
  var STATUS_RANK = { FAIL: 4, ERROR: 3, UNKNOWN: 2, PASS: 1, NOT_APPLICABLE: 0 };
  var PRINT_LIMIT = 2000;
  var data = JSON.parse(document.getElementById("kv-data").textContent);
  var rules = data.rules;
  var findings = data.findings.map(function (r, i) {
    return {
      i: i, severity: r[0], status: r[1], rule: rules[r[2]], name: r[3] || r[4], id: r[4], type: r[5] || "",
      message: r[6], evidence: r[7], profile: r[8] || "", fingerprint: r[9], file: r[10], line: r[11],
      suppression: r[12], hay: null
    };
  });
  var state = { q: "", sev: {}, status: "", rule: "", profile: "", resource: "", supp: "", framework: "", control: "",
    sort: null, dir: 1, page: 0, size: 50 };
  var view = findings;
  var open = {};
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function suppressedActive(f) { return !!(f.suppression && f.suppression.active); }
  function haystack(f) {
    if (f.hay === null) {
      f.hay = [f.rule.id, f.rule.title, f.name, f.id, f.message, f.profile, f.file || "", f.fingerprint]
        .join("\u0000").toLowerCase();
    }
    return f.hay;
  }
  function hasControl(f) {
    if (!state.framework) return true;
    return f.rule.compliance.some(function (m) {
      return m.framework === state.framework && (!state.control || m.control === state.control);
    });
  }
  function matches(f) {
    if (!state.sev[f.severity]) return false;
    if (state.status === "OPEN") { if (f.status !== "FAIL" && f.status !== "UNKNOWN") return false; }
    else if (state.status && f.status !== state.status) return false;
    if (state.rule && f.rule.id !== state.rule) return false;
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
    add("Profile", f.profile || "none (baseline rules only)");
    add("Fingerprint", f.fingerprint);
    var ev = el("table");
    Object.keys(f.evidence).forEach(function (k) {
      var tr = el("tr");
      tr.appendChild(el("th", null, k));
      var v = f.evidence[k];
      tr.appendChild(el("td", null, v === null ? "unknown (null)" : typeof v === "string" ? v : JSON.stringify(v)));
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
    add("Controls", f.rule.compliance.map(function (m) { return m.framework + " " + m.control; }).join(", "));
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
    tr.appendChild(el("td", "col-type", f.type));
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
    var filt = $("control-filter");
    filt.hidden = !state.framework;
    $("control-filter-text").textContent = state.framework + (state.control ? " " + state.control : "");
    document.querySelectorAll("#findings-table th[data-sort]").forEach(function (th) {
      var key = th.getAttribute("data-sort");
      th.setAttribute("aria-sort", state.sort === key ? (state.dir > 0 ? "ascending" : "descending") : "none");
    });
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
  }
  init();
})();
