// The browser's condition evaluator against the vectors shared with tests/test_conditions.py.
// Run: node --test tests/js/
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";

const root = new URL("../../", import.meta.url);
// The portal serves conditions.js as an ES module; package.json does not say "type": "module"
// (it describes npm assets), so Node is given a .mjs copy of the very same file.
const folder = mkdtempSync(join(tmpdir(), "guichet-conditions-"));
const copy = join(folder, "conditions.mjs");
copyFileSync(new URL("plugins/public_forms/static/js/conditions.js", root), copy);
const conditionsApi = (await import(pathToFileURL(copy).href)).default;
after(() => rmSync(folder, { recursive: true, force: true }));
const { evaluate, isBlank, visibleFields } = conditionsApi;

const vectors = JSON.parse(readFileSync(new URL("tests/vectors/conditions.json", root), "utf8"));
const reference = JSON.parse(readFileSync(new URL("app/data/geo.json", root), "utf8"));
const geo = {
  departments: Object.fromEntries(
    Object.entries(reference.departments).map(([code, [, region]]) => [code, region]),
  ),
};

for (const vector of vectors) {
  test(vector.name, () => {
    if (vector.form) {
      const shown = [...visibleFields(vector.fields, vector.answers, { geo })].sort();
      assert.deepEqual(shown, vector.expected);
    } else {
      const options = { geo };
      if (vector.visible) options.visible = vector.visible;
      assert.equal(evaluate(vector.condition, vector.answers, vector.fields, options), vector.expected);
    }
  });
}

test("the vectors are many and cover both evaluation and whole forms", () => {
  assert.ok(vectors.length > 200);
  assert.ok(vectors.some((vector) => vector.form));
});

test("without the department map, place answers cannot be read", () => {
  const fields = [{ stable_id: "dept", type: "department" }];
  const leaf = { field: "dept", op: "in_region", value: "84" };
  assert.equal(evaluate(leaf, { dept: "69" }, fields, { geo }), true);
  assert.equal(evaluate(leaf, { dept: "69" }, fields), false);
});

test("loading the module publishes the API for plain scripts", () => {
  assert.equal(globalThis.GuichetConditions, conditionsApi);
  assert.equal(globalThis.GuichetConditions.evaluate, evaluate);
});

test("isBlank follows the server's rule", () => {
  assert.equal(isBlank(null), true);
  assert.equal(isBlank("  "), true);
  assert.equal(isBlank([{}, { a: "" }]), true);
  assert.equal(isBlank(0), false);
  assert.equal(isBlank(false), false);
  assert.equal(isBlank({ a: "x" }), false);
});
