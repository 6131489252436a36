import { expect } from "chai";
import { mainHelp } from "../../../clients/cli/sw-patch/main.js";

describe("sw-patch --help", () => {
  it("shows how to pass a token and which token file is read by default", () => {
    const help = mainHelp();
    expect(help.split("\n")[0]).to.include("[--token TOKEN | --token-file PATH]");
    expect(help).to.match(/^ {2}--token TOKEN .*SWPATCH_TOKEN/m);
    expect(help).to.match(/^ {2}--token-file PATH .*SWPATCH_TOKEN_FILE/m);
    expect(help).to.include("./data/admin.token");
  });
});
