// Reads /services.json, then /health/gateway/ and /health/<service>/ for each service.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  children.flat().forEach((c) => node.append(c instanceof Node ? c : String(c ?? "")));
  return node;
}

async function health(name) {
  try {
    const response = await fetch(`/health/${name}/`, { cache: "no-store" });
    const body = await response.json();
    return { name, http: response.status, ...body };
  } catch (error) {
    return { name, status: "down", output: String(error) };
  }
}

function checksTable(checks) {
  const rows = Object.entries(checks || {}).flatMap(([key, results]) =>
    results.map((r) => el("tr", {},
      el("td", {}, key),
      el("td", {}, el("span", { class: `status ${r.status}` }, r.status)),
      el("td", {}, r.observedValue === undefined ? "" : `${r.observedValue} ${r.observedUnit || ""}`),
      el("td", {}, r.output || ""))));
  if (!rows.length) return el("p", { class: "meta" }, "No dependency checks.");
  return el("table", {}, el("tr", {}, ["check", "status", "observed", "output"].map((h) => el("th", {}, h))), rows);
}

function flagsTable(flags) {
  const rows = Object.entries(flags || {}).map(([flag, value]) =>
    el("tr", {}, el("td", {}, flag), el("td", {}, value)));
  if (!rows.length) return "";
  return el("table", {}, el("tr", {}, el("th", {}, "flag"), el("th", {}, "value")), rows);
}

function card(report) {
  const meta = [report.version && `version ${report.version}`, report.releaseId && `release ${report.releaseId}`,
    report.http && `HTTP ${report.http}`].filter(Boolean).join(" · ");
  return el("section", {},
    el("h2", {}, report.name, el("span", { class: `status ${report.status || "down"}` }, report.status || "down")),
    el("p", { class: "meta" }, meta || report.output || report.detail || ""),
    checksTable(report.checks), flagsTable(report.flags));
}

async function refresh() {
  const target = document.getElementById("services");
  let names = [];
  try {
    names = (await (await fetch("/services.json", { cache: "no-store" })).json()).services;
  } catch (error) {
    target.replaceChildren(el("p", {}, `Could not read /services.json: ${error}`));
    return;
  }
  const reports = await Promise.all(["gateway", ...names].map(health));
  target.replaceChildren(...reports.map(card));
  document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

document.getElementById("refresh").addEventListener("click", refresh);
refresh();
setInterval(refresh, 15000);
