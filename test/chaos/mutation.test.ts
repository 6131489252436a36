import { describePatchMutations } from "../lib/patch-mutation.js";

// The long byte-flip run (npm run test:chaos): the unit suite's first 200 cases and 1,800 more.
// MUTATION_CASES=N overrides the count.
describePatchMutations(Number(process.env.MUTATION_CASES ?? 2000));
