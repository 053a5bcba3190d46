import { errorStatus, negotiateGraphQLMediaType, prefersHtml } from '../../../src/gateway/media.js';

const GR = 'application/graphql-response+json';
const JSON_TYPE = 'application/json';

test.each<[string | undefined, string | null]>([
  [undefined, GR],
  ['', GR],
  ['*/*', GR],
  ['application/*', GR],
  [JSON_TYPE, JSON_TYPE],
  [`${GR},${JSON_TYPE};q=0.9`, GR],
  [`${JSON_TYPE}, ${GR}`, JSON_TYPE],
  [`${JSON_TYPE};q=0.5, ${GR}`, GR],
  // The most specific range decides: json is refused outright, so the wildcard's pick is the other type.
  [`${JSON_TYPE};q=0, */*`, GR],
  [`${GR};q=0, */*`, JSON_TYPE],
  ['APPLICATION/JSON; charset=utf-8', JSON_TYPE],
  ['text/plain', null],
  ['text/html, application/xhtml+xml', null],
])('Accept %j answers %j', (accept, media) => {
  expect(negotiateGraphQLMediaType(accept)).toBe(media);
});

test('a browser asking for a page prefers HTML; a client listing JSON first does not', () => {
  expect(prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe(true);
  expect(prefersHtml(`${GR}, text/html;q=0.5`)).toBe(false);
  expect(prefersHtml(undefined)).toBe(false);
});

test('a request error of a well-formed request is 200 only under application/json, and 5xx never changes', () => {
  expect(errorStatus(JSON_TYPE, 400, true)).toBe(200);
  expect(errorStatus(JSON_TYPE, 429, true)).toBe(200);
  expect(errorStatus(JSON_TYPE, 400, false)).toBe(400);
  expect(errorStatus(JSON_TYPE, 503, true)).toBe(503);
  expect(errorStatus(GR, 400, true)).toBe(400);
  expect(errorStatus(null, 413, false)).toBe(413);
});
