// The synthetic trace generator (iommu-lab gen): a seeded PRNG, the sample platform a generated trace
// embeds, and the generator that yields a native trace's bytes with its fault count known by
// construction. Pure: no I/O (src/cli/gen-command.ts writes the file).
export { Prng } from './prng';
export { samplePlatform, sampleDeviceBdf, MAX_SAMPLE_DEVICES } from './platform';
export { GenError, TraceGenerator, type GenExpected, type GenOptions } from './generator';
