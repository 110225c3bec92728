// The SPARQL page: fills the editor from the bundled-query menu and runs the query through the
// endpoint (so its vetting, row cap and deadline apply), showing the table, the yes/no or the
// Turtle in #results. Values only ever reach the page through textContent. Without this script
// the form is a plain GET that the server answers with the same page and the results.
(function () {
  "use strict";
  var form = document.getElementById("sparql-form");
  var editor = document.getElementById("query");
  var menu = document.getElementById("queries");
  var description = document.getElementById("query-description");
  var results = document.getElementById("results");
  var status = document.getElementById("status");
  var run = document.getElementById("run");
  if (!form || !editor || !results || !document.getElementById("results-heading")) return;
  var endpoint = form.getAttribute("data-endpoint");
  var heading = document.getElementById("results-heading");

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function show(nodes) {
    while (heading.nextSibling) results.removeChild(heading.nextSibling);
    nodes.forEach(function (node) { results.appendChild(node); });
  }

  function cellValue(term) {
    if (!term) return "";
    return term.type === "bnode" ? "_:" + term.value : term.value;
  }

  function table(data, truncated) {
    var vars = (data.head && data.head.vars) || [];
    var rows = (data.results && data.results.bindings) || [];
    var count = rows.length + " row" + (rows.length === 1 ? "" : "s") + (truncated ? ", truncated at the endpoint's cap" : "") + ".";
    var wrap = el("div", null, "table-scroll");
    wrap.tabIndex = 0;
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-label", "Query results");
    var tbl = el("table", null, "results");
    var head = el("tr");
    vars.forEach(function (name) {
      var th = el("th", name);
      th.scope = "col";
      head.appendChild(th);
    });
    tbl.appendChild(el("thead")).appendChild(head);
    var body = tbl.appendChild(el("tbody"));
    rows.forEach(function (binding) {
      var tr = body.appendChild(el("tr"));
      vars.forEach(function (name) {
        var term = binding[name];
        var td = tr.appendChild(el("td", cellValue(term), term ? term.type : "unbound"));
        if (term && term["xml:lang"]) td.lang = term["xml:lang"];
      });
    });
    wrap.appendChild(tbl);
    return [el("p", count), wrap];
  }

  function problem(status, body) {
    var box = el("div", null, "problem");
    box.setAttribute("role", "alert");
    var first = box.appendChild(el("p"));
    first.appendChild(el("strong", (status ? status + " " : "") + ((body && body.title) || "Error")));
    if (body && body.code) {
      first.appendChild(document.createTextNode(" "));
      first.appendChild(el("code", body.code));
    }
    var detail = (body && body.detail) || "The endpoint answered without a problem description.";
    if (body && body.line !== undefined) detail += " (line " + body.line + (body.column !== undefined ? ", column " + body.column : "") + ")";
    box.appendChild(el("p", detail));
    return [box];
  }

  function answer(response) {
    var type = (response.headers.get("content-type") || "").split(";")[0].trim();
    var truncated = response.headers.get("x-result-truncated") === "true";
    if (!response.ok) {
      return response.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = { detail: text.slice(0, 500) }; }
        show(problem(response.status, body));
      });
    }
    if (type === "application/sparql-results+json") {
      return response.json().then(function (data) {
        if (typeof data.boolean === "boolean") {
          var p = el("p", "ASK: ", "answer");
          p.appendChild(el("strong", data.boolean ? "yes" : "no"));
          show([p]);
        } else {
          show(table(data, truncated));
        }
      });
    }
    return response.text().then(function (text) {
      var wrap = el("div", null, "table-scroll");
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", "The graph, in Turtle");
      wrap.appendChild(el("pre", text, "graph"));
      var nodes = [wrap];
      if (truncated) nodes.push(el("p", "Truncated at the endpoint's cap."));
      show(nodes);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run.disabled = true;
    status.textContent = "Running…";
    results.setAttribute("aria-busy", "true");
    fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/sparql-query",
        accept: "application/sparql-results+json, text/turtle;q=0.9"
      },
      body: editor.value,
      credentials: "same-origin"
    })
      .then(answer)
      .catch(function (error) {
        show(problem(0, { title: "Request failed", detail: "no answer could be read from the endpoint: " + error.message }));
      })
      .then(function () {
        run.disabled = false;
        status.textContent = "";
        results.removeAttribute("aria-busy");
      });
  });

  if (menu) {
    menu.addEventListener("change", function () {
      var option = menu.options[menu.selectedIndex];
      var text = option && option.getAttribute("data-query");
      if (text) editor.value = text;
      if (description) description.textContent = (option && option.getAttribute("data-description")) || "";
    });
  }
})();
