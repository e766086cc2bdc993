// Recordings attach probes and measure the machine; one at a time keeps them independent.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
