/** Reading the examples of docs/callback-contract.md (for test/docs and test/e2e). */

/** `### title` -> the JSON block under it, in the "Examples by object type" section. */
export function callbackExamples(markdown: string): Array<{ title: string; body: Record<string, any> }> {
  const section = markdown.slice(markdown.indexOf('## Examples by object type'));
  const end = section.indexOf('\n## ', 1);
  return [...section.slice(0, end).matchAll(/^### (.+)\n\n```json\n([\s\S]*?)\n```/gm)].map((match) => ({
    title: match[1],
    body: JSON.parse(match[2]),
  }));
}

