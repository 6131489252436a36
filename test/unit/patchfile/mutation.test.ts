import { describePatchMutations } from "../../lib/patch-mutation.js";

// 200 seeded byte-flip cases keep the edit loop fast; the 2,000-case run is in test/chaos/mutation.test.ts.
describePatchMutations(200);
