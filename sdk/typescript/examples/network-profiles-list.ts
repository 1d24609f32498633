// Seed "Network Profiles", first example, verbatim; the last line prints the
// names as JSON for the test (console.log of an array may wrap lines).
import { Isorun } from 'isorun'

const isorun = new Isorun()

// All available profiles:
const profiles = await isorun.networkProfiles()
console.log(profiles.map((p) => p.name))
// → ['unrestricted', 'locked-down', 'claude-code', 'openai', ...]

console.log(JSON.stringify(profiles.map((p) => p.name)))
