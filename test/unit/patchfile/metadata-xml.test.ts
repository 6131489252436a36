import { expect } from "chai";
import { parseMetadataXml, writeMetadataXml, type PatchMetadata } from "../../../server/domain/patchfile/index.js";
import { DomainError } from "../../../server/domain/errors.js";

const SPEC_EXAMPLE = `<?xml version="1.0" ?>
<patch>
  <id>STX_19.12_PATCH_0007</id>
  <sw_version>19.12</sw_version>
  <summary>Fix sysinv agent crash on interface audit</summary>
  <description>Updates sysinv and adds a helper package
on controller nodes.</description>
  <install_instructions/>
  <warnings/>
  <status>REL</status>
  <unremovable/>
  <reboot_required>N</reboot_required>
  <apply_active_release_only/>
  <personality type="controller">
    <package>sysinv-helper</package>
  </personality>
  <personality type="controller-worker">
    <package>sysinv-helper</package>
  </personality>
  <contents>
    <rpm>sysinv-1.0-20.tis.x86_64.rpm</rpm>
    <rpm>sysinv-agent-1.0-20.tis.x86_64.rpm</rpm>
    <rpm>sysinv-helper-1.0-1.tis.x86_64.rpm</rpm>
  </contents>
  <requires>
    <req_patch_id>STX_19.12_PATCH_0005</req_patch_id>
  </requires>
  <semantics>
    <action>pre-apply</action>
  </semantics>
</patch>
`;

const EXAMPLE_META: PatchMetadata = {
  id: "STX_19.12_PATCH_0007",
  swVersion: "19.12",
  summary: "Fix sysinv agent crash on interface audit",
  description: "Updates sysinv and adds a helper package\non controller nodes.",
  installInstructions: "",
  warnings: "",
  status: "REL",
  unremovable: false,
  rebootRequired: false,
  applyActiveReleaseOnly: false,
  // deliberately unsorted input
  personalities: { "controller-worker": ["sysinv-helper"], controller: ["sysinv-helper"] },
  contents: ["sysinv-helper-1.0-1.tis.x86_64.rpm", "sysinv-agent-1.0-20.tis.x86_64.rpm", "sysinv-1.0-20.tis.x86_64.rpm"],
  requires: ["STX_19.12_PATCH_0005"],
  semantics: ["pre-apply"],
};

describe("metadata.xml writer", () => {
  it("reproduces the spec example byte for byte (sorting personalities, contents, requires)", () => {
    expect(writeMetadataXml(EXAMPLE_META)).to.equal(SPEC_EXAMPLE);
  });
  it("writes empty lists as <tag/>, flags as Y/N, and escapes like minidom", () => {
    const xml = writeMetadataXml({
      ...EXAMPLE_META,
      summary: `a & b <c> "d" 'e'`,
      unremovable: true,
      rebootRequired: true,
      applyActiveReleaseOnly: true,
      personalities: {},
      requires: [],
      semantics: [],
    });
    expect(xml).to.contain(`  <summary>a &amp; b &lt;c&gt; &quot;d&quot; 'e'</summary>\n`);
    expect(xml).to.contain(
      "  <unremovable>Y</unremovable>\n  <reboot_required>Y</reboot_required>\n  <apply_active_release_only>Y</apply_active_release_only>\n  <contents>",
    );
    expect(xml).to.contain("  <requires/>\n  <semantics/>\n</patch>\n");
  });
  it("sorts packages inside a personality and semantics actions", () => {
    const xml = writeMetadataXml({ ...EXAMPLE_META, personalities: { worker: ["zz", "aa"] }, semantics: ["pre-remove", "pre-apply"] });
    expect(xml).to.contain(`  <personality type="worker">\n    <package>aa</package>\n    <package>zz</package>\n  </personality>\n`);
    expect(xml).to.contain("    <action>pre-apply</action>\n    <action>pre-remove</action>\n");
  });
  it("rejects control characters XML cannot hold", () => {
    expect(() => writeMetadataXml({ ...EXAMPLE_META, summary: "a\u0001b" })).to.throw(DomainError, /cannot hold/);
  });
});

describe("metadata.xml reader", () => {
  it("reads the spec example", () => {
    const m = parseMetadataXml(SPEC_EXAMPLE);
    expect(m).to.deep.equal({
      ...EXAMPLE_META,
      personalities: { controller: ["sysinv-helper"], "controller-worker": ["sysinv-helper"] },
      contents: [...EXAMPLE_META.contents].sort(),
    });
  });
  it("round-trips what the writer writes", () => {
    const m = { ...EXAMPLE_META, summary: `<&>"'\u00e9`, description: "multi\nline\n" };
    const back = parseMetadataXml(writeMetadataXml(m));
    expect(back.summary).to.equal(m.summary);
    expect(back.description).to.equal(m.description);
  });
  it("applies the reference's read-side flag semantics", () => {
    const base = (inner: string) => `<patch><id>A</id><sw_version>1</sw_version>${inner}</patch>`;
    expect(parseMetadataXml(base("")).rebootRequired).to.equal(true);
    expect(parseMetadataXml(base("<reboot_required/>")).rebootRequired).to.equal(true);
    expect(parseMetadataXml(base("<reboot_required>n</reboot_required>")).rebootRequired).to.equal(true);
    expect(parseMetadataXml(base("<reboot_required>N</reboot_required>")).rebootRequired).to.equal(false);
    expect(parseMetadataXml(base("<unremovable>y</unremovable>")).unremovable).to.equal(false);
    expect(parseMetadataXml(base("<unremovable>Y</unremovable>")).unremovable).to.equal(true);
    expect(parseMetadataXml(base("<apply_active_release_only>Y</apply_active_release_only>")).applyActiveReleaseOnly).to.equal(true);
    expect(parseMetadataXml(base("<unknown_future>x</unknown_future>")).summary).to.equal("");
  });
  it("decodes entities, character references and CDATA", () => {
    const m = parseMetadataXml(`<patch><id>A</id><sw_version>1</sw_version><summary>&#65;&#x42;&amp;<![CDATA[<x>]]>&apos;</summary><!-- c --></patch>`);
    expect(m.summary).to.equal("AB&<x>'");
  });
  const bad: [string, string, RegExp][] = [
    ["a DOCTYPE", `<?xml version="1.0" ?><!DOCTYPE patch [<!ENTITY x "y">]><patch/>`, /DOCTYPE/],
    ["an undefined entity", `<patch><id>&x;</id></patch>`, /undefined entity/],
    ["a processing instruction", `<patch><?php x ?><id>A</id></patch>`, /processing instruction/],
    ["mismatched tags", `<patch><id>A</sw_version></patch>`, /mismatched tag/],
    ["an unclosed element", `<patch><id>A</id>`, /unclosed element/],
    ["two roots", `<patch/><patch/>`, /more than one root/],
    ["text after the root", `<patch/>x`, /text outside the root/],
    ["duplicate attributes", `<patch><personality type="a" type="b"/></patch>`, /duplicate attribute/],
    ["a bare ampersand", `<patch><id>a & b</id></patch>`, /unterminated entity/],
    ["invalid UTF-8", "", /not valid UTF-8/],
    ["a missing id", `<patch><sw_version>1</sw_version></patch>`, /missing patch id/],
    ["a missing sw_version", `<patch><id>A</id></patch>`, /missing sw_version/],
    ["a wrong root", `<notpatch><id>A</id></notpatch>`, /expected <patch>/],
    ["duplicate ids", `<patch><id>A</id><id>B</id><sw_version>1</sw_version></patch>`, /duplicate <id>/],
    ["an unknown personality type", `<patch><id>A</id><sw_version>1</sw_version><personality type="toaster"/></patch>`, /unknown personality type/],
    ["an unknown semantic action", `<patch><id>A</id><sw_version>1</sw_version><semantics><action>post-apply</action></semantics></patch>`, /unknown semantic action/],
    ["a nested element in a text field", `<patch><id>A<b/></id><sw_version>1</sw_version></patch>`, /must hold only text/],
    ["a NUL character reference", `<patch><id>&#0;</id></patch>`, /invalid character reference/],
    ["a stray <", `<patch><id>a < b</id></patch>`, /malformed start tag/],
  ];
  for (const [what, xml, re] of bad) {
    it(`rejects ${what}`, () => {
      const input = what === "invalid UTF-8" ? Buffer.from([0x3c, 0x70, 0xff, 0x3e]) : xml;
      expect(() => parseMetadataXml(input)).to.throw(DomainError, re);
    });
  }
});
