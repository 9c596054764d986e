/*
 * Guichet's condition language in the browser: the twin of app/conditions.py.
 *
 * Both give the same answer for the same form and answers; tests/vectors/conditions.json
 * holds the cases both test suites run (pytest and `node --test tests/js/`).
 *
 * Use as an ES module:
 *   import { visibleFields, evaluate } from "/static/portal/js/conditions.js";
 *   const shown = visibleFields(fields, answers, { geo });
 * or load it with <script type="module"> and use window.GuichetConditions from any script.
 *
 * `fields`: the form's field definitions in order ({stable_id, type, options, condition} with
 * `parent` naming a block's stable id, or blocks carrying `children`). `answers`: the stored
 * shape, keyed by stable id (what the form serialises). `geo`: `{departments: {code: region}}`
 * as given by the server's `app.conditions.client_geo()`, needed by place fields.
 * Dependency-free; no DOM access.
 */

/** How each field type's values are read (mirrors FieldType.condition_kind). */
export const TYPE_KINDS = Object.freeze({
  header_section: null,
  explication: null,
  repetition: "presence",
  text: "text",
  textarea: "text",
  formatted: "text",
  email: "email",
  phone: "presence",
  integer: "number",
  decimal: "number",
  date: "date",
  datetime: "datetime",
  checkbox: "checkbox",
  yes_no: "boolean",
  drop_down: "choice",
  multiple_drop_down: "choices",
  linked_drop_down: "linked",
  civility: "civility",
  country: "country",
  region: "region",
  department: "department",
  commune: "commune",
  address: "address",
  siret: "siret",
  iban: "presence",
  dossier_link: "presence",
  attachment: "presence",
});

const ORDERED = ["eq", "ne", "lt", "le", "gt", "ge"];
const PLACES = ["in_department", "not_in_department", "in_region", "not_in_region"];

/** The comparisons each kind makes, beyond empty / not_empty (mirrors conditions.KINDS). */
export const KINDS = Object.freeze({
  number: ORDERED,
  date: ORDERED,
  datetime: ORDERED,
  boolean: ["eq", "ne"],
  checkbox: ["eq", "ne"],
  text: ["eq", "ne", "contains", "not_contains"],
  email: ["eq", "ne"],
  siret: ["eq", "ne"],
  civility: ["eq", "ne"],
  choice: ["eq", "ne"],
  choices: ["contains", "not_contains"],
  linked: ["eq", "ne"],
  country: ["eq", "ne"],
  department: ["eq", "ne", ...PLACES],
  region: ["eq", "ne", "in_region", "not_in_region"],
  commune: ["eq", "ne", ...PLACES],
  address: PLACES,
  presence: [],
});

export const OPERATORS = Object.freeze([
  "eq", "ne", "lt", "le", "gt", "ge", "contains", "not_contains", "empty", "not_empty",
  ...PLACES,
]);

export const OTHER = "__other__";
const MAX_DEPTH = 20;
const MISSING = Symbol("missing");
const INVALID = Symbol("invalid");
const SPACES = /[ \t\n\r\u00a0\u202f]/g;
const NUMBER = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$/;
const ISO_DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const FRENCH_DATE = /^([0-9]{2})\/([0-9]{2})\/([0-9]{4})$/;
const ISO_DATETIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?$/;
const FRENCH_DATETIME = /^([0-9]{2})\/([0-9]{2})\/([0-9]{4})[ T]([0-9]{2})[:h]([0-9]{2})$/;
const SIRET = /^[0-9]{14}$/;
const COUNTRY = /^[A-Z]{2}$/;
const COMMUNE = /^([0-9]{5}|2[AB][0-9]{3})$/;
const TRUE_WORDS = new Set(["true", "on", "1", "yes", "oui"]);
const FALSE_WORDS = new Set(["false", "off", "0", "no", "non"]);
const CIVILITY_ALIASES = { mme: "Mme", madame: "Mme", "m.": "M.", m: "M.", monsieur: "M." };

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

/** Whether an answer is "not given" (same rule as app.fields.base.is_blank). */
export function isBlank(value) {
  if (value === null || value === undefined) return true;
  if (typeof value === "string") return value.trim() === "";
  if (Array.isArray(value)) return value.every(isBlank);
  if (isObject(value)) return Object.values(value).every(isBlank);
  return false;
}

/** The department code inside a commune's INSEE code. */
export function departmentOfCommune(code) {
  return code.startsWith("97") || code.startsWith("98") ? code.slice(0, 3) : code.slice(0, 2);
}

function option(spec, name, fallback) {
  const options = isObject(spec.options) ? spec.options : {};
  const value = options[name];
  return value === null || value === undefined ? fallback : value;
}

function choicesOf(spec) {
  const choices = option(spec, "choices", []);
  return Array.isArray(choices) ? choices : [];
}

function validDay(year, month, day) {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return day <= days;
}

function toNumber(value) {
  if (typeof value === "boolean") return INVALID;
  if (typeof value === "number") return Number.isFinite(value) ? value : INVALID;
  if (typeof value === "string") {
    const compact = value.replace(SPACES, "").replace(/,/g, ".");
    if (NUMBER.test(compact)) return Number(compact);
  }
  return INVALID;
}

function toDate(value) {
  if (typeof value !== "string") return INVALID;
  const text = value.trim();
  let year, month, day, match;
  if ((match = ISO_DATE.exec(text))) [, year, month, day] = match;
  else if ((match = FRENCH_DATE.exec(text))) [, day, month, year] = match;
  else return INVALID;
  if (!validDay(Number(year), Number(month), Number(day))) return INVALID;
  return `${year}-${month}-${day}`;
}

function toDateTime(value) {
  if (typeof value !== "string") return INVALID;
  const text = value.trim();
  let year, month, day, hour, minute, second, match;
  if ((match = ISO_DATETIME.exec(text))) [, year, month, day, hour, minute, second] = match;
  else if ((match = FRENCH_DATETIME.exec(text))) [, day, month, year, hour, minute] = match;
  else {
    const dayOnly = toDate(text);
    return dayOnly === INVALID ? INVALID : `${dayOnly}T00:00`;
  }
  if (!validDay(Number(year), Number(month), Number(day))) return INVALID;
  if (Number(hour) > 23 || Number(minute) > 59) return INVALID;
  if (second !== undefined && Number(second) > 59) return INVALID;
  return `${year}-${month}-${day}T${hour}:${minute}`;
}

function toBoolean(value) {
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    const word = value.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  return INVALID;
}

function toSiret(value) {
  if (typeof value !== "string") return INVALID;
  const compact = value.replace(SPACES, "");
  return SIRET.test(compact) ? compact : INVALID;
}

function toCivility(value) {
  if (typeof value !== "string") return INVALID;
  const key = value.trim().toLowerCase();
  return has(CIVILITY_ALIASES, key) ? CIVILITY_ALIASES[key] : INVALID;
}

function makeReaders(geo) {
  const departments = isObject(geo) && isObject(geo.departments) ? geo.departments : {};
  const regions = new Set(Object.values(departments));
  const knownDepartment = (code) => has(departments, code);

  const toDepartment = (value) => {
    if (typeof value !== "string") return INVALID;
    const code = value.trim().toUpperCase();
    return knownDepartment(code) ? code : INVALID;
  };
  const toRegion = (value) => {
    if (typeof value !== "string") return INVALID;
    const code = value.trim();
    return regions.has(code) ? code : INVALID;
  };
  const toCommune = (value) => {
    if (typeof value !== "string") return INVALID;
    const code = value.trim().toUpperCase();
    if (!COMMUNE.test(code) || !knownDepartment(departmentOfCommune(code))) return INVALID;
    return code;
  };
  const regionOf = (department) => departments[department];
  return { toDepartment, toRegion, toCommune, regionOf };
}

function readLinked(value, spec) {
  if (!isObject(value)) return INVALID;
  const primary = value.primary;
  const secondary = value.secondary;
  if (typeof primary !== "string" || primary.trim() === "") return INVALID;
  const wanted = primary.trim();
  const entry = choicesOf(spec).find((choice) => isObject(choice) && choice.primary === wanted);
  if (entry === undefined) return INVALID;
  if (isBlank(secondary)) return [wanted, null];
  const list = Array.isArray(entry.secondary) ? entry.secondary : [];
  if (typeof secondary !== "string" || !list.includes(secondary.trim())) return INVALID;
  return [wanted, secondary.trim()];
}

function readAddress(value, readers) {
  if (!isObject(value)) return INVALID;
  if (["street", "postcode", "city", "insee_code"].every((key) => isBlank(value[key]))) {
    return MISSING;
  }
  const raw = value.country;
  const country = typeof raw === "string" && raw.trim() !== "" ? raw.trim().toUpperCase() : "FR";
  if (country !== "FR") return { department: null };
  const commune = readers.toCommune(value.insee_code);
  return { department: commune === INVALID ? null : departmentOfCommune(commune) };
}

function read(kind, value, spec, readers) {
  if (kind === "checkbox") return isBlank(value) ? false : toBoolean(value);
  if (isBlank(value)) return MISSING;
  switch (kind) {
    case "number":
      return toNumber(value);
    case "date":
      return toDate(value);
    case "datetime":
      return toDateTime(value);
    case "boolean":
      return toBoolean(value);
    case "text":
      return typeof value === "string" ? value.trim() : INVALID;
    case "email":
      return typeof value === "string" ? value.trim().toLowerCase() : INVALID;
    case "siret":
      return toSiret(value);
    case "civility":
      return toCivility(value);
    case "choice": {
      if (typeof value !== "string") return INVALID;
      const text = value.trim();
      if (choicesOf(spec).includes(text) || option(spec, "allow_other", false) === true) {
        return text;
      }
      return INVALID;
    }
    case "choices": {
      const items = typeof value === "string" ? [value] : value;
      if (!Array.isArray(items) || !items.every((item) => typeof item === "string")) {
        return INVALID;
      }
      const picked = items.map((item) => item.trim()).filter((item) => item !== "");
      const choices = choicesOf(spec);
      return picked.every((item) => choices.includes(item)) ? picked : INVALID;
    }
    case "linked":
      return readLinked(value, spec);
    case "country": {
      if (typeof value !== "string") return INVALID;
      const code = value.trim().toUpperCase();
      return COUNTRY.test(code) ? code : INVALID;
    }
    case "department":
      return readers.toDepartment(value);
    case "region":
      return readers.toRegion(value);
    case "commune":
      return readers.toCommune(value);
    case "address":
      return readAddress(value, readers);
    case "presence":
      return true;
    default:
      return MISSING;
  }
}

function codesOf(target, upper) {
  const items = typeof target === "string" ? [target] : target;
  if (!Array.isArray(items)) return null;
  const codes = items.filter((item) => typeof item === "string").map((item) => item.trim());
  return upper ? codes.map((code) => code.toUpperCase()) : codes;
}

function inPlaces(op, department, target, readers) {
  if (department === null) return false;
  if (op === "in_department" || op === "not_in_department") {
    const codes = codesOf(target, true);
    if (codes === null) return false;
    return codes.includes(department) === (op === "in_department");
  }
  const codes = codesOf(target, false);
  if (codes === null) return false;
  return codes.includes(readers.regionOf(department)) === (op === "in_region");
}

function ordered(op, value, target) {
  if (target === INVALID) return false;
  switch (op) {
    case "eq":
      return value === target;
    case "ne":
      return value !== target;
    case "lt":
      return value < target;
    case "le":
      return value <= target;
    case "gt":
      return value > target;
    case "ge":
      return value >= target;
    default:
      return false;
  }
}

function equality(op, value, target) {
  if (target === INVALID) return false;
  return (value === target) === (op === "eq");
}

function stripped(target, upper = false) {
  if (typeof target !== "string") return INVALID;
  return upper ? target.trim().toUpperCase() : target.trim();
}

function compareLinked(op, value, target) {
  const [primary, secondary] = value;
  if (typeof target === "string") return (primary === target.trim()) === (op === "eq");
  if (!isObject(target) || !(has(target, "primary") || has(target, "secondary"))) return false;
  let equal = true;
  for (const [key, own] of [["primary", primary], ["secondary", secondary]]) {
    if (has(target, key)) {
      const wanted = typeof target[key] === "string" ? target[key].trim() : target[key];
      equal = equal && own === wanted;
    }
  }
  return equal === (op === "eq");
}

function compare(kind, op, value, target, spec, readers) {
  if (!(KINDS[kind] || []).includes(op)) return false;
  switch (kind) {
    case "number":
      return ordered(op, value, toNumber(target));
    case "date":
      return ordered(op, value, toDate(target));
    case "datetime":
      return ordered(op, value, toDateTime(target));
    case "boolean":
    case "checkbox":
      return equality(op, value, toBoolean(target));
    case "text": {
      const wanted = stripped(target);
      if (wanted === INVALID) return false;
      if (op === "contains" || op === "not_contains") {
        return value.toLowerCase().includes(wanted.toLowerCase()) === (op === "contains");
      }
      return equality(op, value, wanted);
    }
    case "email": {
      const wanted = stripped(target);
      return equality(op, value, wanted === INVALID ? INVALID : wanted.toLowerCase());
    }
    case "siret":
      return equality(op, value, toSiret(target));
    case "civility":
      return equality(op, value, toCivility(target));
    case "choice":
      if (target === OTHER) return !choicesOf(spec).includes(value) === (op === "eq");
      return equality(op, value, stripped(target));
    case "choices": {
      const wanted = stripped(target);
      if (wanted === INVALID) return false;
      return value.includes(wanted) === (op === "contains");
    }
    case "linked":
      return compareLinked(op, value, target);
    case "country":
      return equality(op, value, stripped(target, true));
    case "department":
      if (op === "eq" || op === "ne") return equality(op, value, stripped(target, true));
      return inPlaces(op, value, target, readers);
    case "region": {
      if (op === "eq" || op === "ne") return equality(op, value, stripped(target));
      const codes = codesOf(target, false);
      return codes !== null && codes.includes(value) === (op === "in_region");
    }
    case "commune":
      if (op === "eq" || op === "ne") return equality(op, value, stripped(target, true));
      return inPlaces(op, departmentOfCommune(value), target, readers);
    case "address":
      return inPlaces(op, value.department, target, readers);
    default:
      return false;
  }
}

/** The form's fields: top-level specs in order (blocks with children) and an index. */
function buildForm(fields) {
  const list = Array.isArray(fields) ? fields : [];
  const top = [];
  const children = new Map();
  for (const field of list) {
    if (!isObject(field)) continue;
    const parent = typeof field.parent === "string" ? field.parent : null;
    if (parent === null) {
      top.push({ ...field, parent: null, children: [] });
      for (const child of Array.isArray(field.children) ? field.children : []) {
        if (!isObject(child)) continue;
        if (!children.has(field.stable_id)) children.set(field.stable_id, []);
        children.get(field.stable_id).push({ ...child, parent: field.stable_id, children: [] });
      }
    } else {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push({ ...field, parent, children: [] });
    }
  }
  const specs = new Map();
  for (const spec of top) {
    spec.children = children.get(spec.stable_id) || [];
    specs.set(spec.stable_id, spec);
    for (const child of spec.children) specs.set(child.stable_id, child);
  }
  return { top, specs };
}

function kindOf(spec) {
  return has(TYPE_KINDS, spec.type) ? TYPE_KINDS[spec.type] : null;
}

function leaf(node, answers, form, visible, readers) {
  const op = node.op;
  if (!OPERATORS.includes(op)) return false;
  const id = node.field;
  const spec = typeof id === "string" ? form.specs.get(id) : undefined;
  const kind = spec === undefined ? null : kindOf(spec);
  let value;
  if (
    spec === undefined ||
    kind === null ||
    spec.parent !== null ||
    (visible !== null && !visible.has(id))
  ) {
    value = MISSING;
  } else {
    value = read(kind, has(answers, id) ? answers[id] : undefined, spec, readers);
  }
  if (value === MISSING || value === INVALID) return op === "empty";
  if (op === "empty") return false;
  if (op === "not_empty") return true;
  return compare(kind, op, value, node.value, spec, readers);
}

function holdsNode(node, answers, form, visible, readers, depth) {
  if (!isObject(node) || depth > MAX_DEPTH) return false;
  if (has(node, "all")) {
    const items = node.all;
    return (
      Array.isArray(items) &&
      items.every((item) => holdsNode(item, answers, form, visible, readers, depth + 1))
    );
  }
  if (has(node, "any")) {
    const items = node.any;
    return (
      Array.isArray(items) &&
      items.some((item) => holdsNode(item, answers, form, visible, readers, depth + 1))
    );
  }
  if (has(node, "field")) return leaf(node, answers, form, visible, readers);
  return false;
}

function holds(condition, answers, form, visible, readers) {
  if (condition === null || condition === undefined) return true;
  if (isObject(condition) && Object.keys(condition).length === 0) return true;
  return holdsNode(condition, answers, form, visible, readers, 0);
}

/**
 * Whether `condition` holds for these answers. With `options.visible` (a Set or an array
 * of stable ids), fields outside it count as hidden.
 */
export function evaluate(condition, answers, fields, options = {}) {
  const form = buildForm(fields);
  const readers = makeReaders(options.geo);
  const visible = options.visible == null ? null : new Set(options.visible);
  return holds(condition, isObject(answers) ? answers : {}, form, visible, readers);
}

/** A section title's level: 1 when the option is missing or not 1, 2 or 3. */
function sectionLevel(spec) {
  const level = option(spec, "level", 1);
  return typeof level === "number" && [1, 2, 3].includes(level) ? level : 1;
}

/**
 * The Set of stable ids of the fields shown for these answers (blocks' children included):
 * one pass in form order; a section title hides everything until the next title of the
 * same or a higher level; hidden fields read as unanswered, so hiding cascades. The
 * applicant's form and private annotations (`private: true`) are sectioned separately.
 */
export function visibleFields(fields, answers, options = {}) {
  const form = buildForm(fields);
  const readers = makeReaders(options.geo);
  const values = isObject(answers) ? answers : {};
  const visible = new Set();
  for (const isPrivate of [false, true]) {
    const sections = [];
    for (const spec of form.top) {
      if (Boolean(spec.private) !== isPrivate) continue;
      let level = 1;
      if (spec.type === "header_section") {
        level = sectionLevel(spec);
        while (sections.length && sections[sections.length - 1][0] >= level) sections.pop();
      }
      const inShownSection = sections.length === 0 || sections[sections.length - 1][1];
      const shown = inShownSection && holds(spec.condition, values, form, visible, readers);
      if (spec.type === "header_section") sections.push([level, shown]);
      if (!shown) continue;
      visible.add(spec.stable_id);
      for (const child of spec.children) {
        if (holds(child.condition, values, form, visible, readers)) visible.add(child.stable_id);
      }
    }
  }
  return visible;
}

const api = Object.freeze({
  evaluate,
  visibleFields,
  isBlank,
  departmentOfCommune,
  KINDS,
  TYPE_KINDS,
  OPERATORS,
  OTHER,
});
globalThis.GuichetConditions = api;
export default api;
