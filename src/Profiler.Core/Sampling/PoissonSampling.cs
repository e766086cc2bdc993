namespace Profiler.Core.Sampling;

/// <summary>
/// Byte-based Poisson sampling: every allocated byte is picked with probability 1/rate, so an
/// allocation of <c>size</c> bytes is sampled with probability 1 − e^(−size/rate) and then stands
/// for size / (1 − e^(−size/rate)) bytes — an unbiased estimate whatever the size mix. An
/// allocation of at least the rate is always sampled and stands for its own size (heapprofd's
/// rule): large blocks carry no sampling error, and they leave the countdown of the small ones
/// alone, so the small ones keep their probabilities. All collectors (BPF, preload library, ETW
/// consumer) share these formulas; jemalloc's own sampling has no such rule (see
/// <see cref="PoissonProbability"/>).
/// </summary>
public static class PoissonSampling
{
    public const ulong DefaultRateBytes = 512 * 1024;

    /// <summary>Rate 1 (or 0) means every allocation is recorded with its own size.</summary>
    public static bool RecordsEverything(ulong rateBytes) => rateBytes <= 1;

    /// <summary>Whether an allocation is always sampled, with its own size as its weight.</summary>
    public static bool IsExact(ulong size, ulong rateBytes) => RecordsEverything(rateBytes) || size >= rateBytes;

    /// <summary>The chance memprof's samplers pick an allocation of <paramref name="size"/> bytes.</summary>
    public static double Probability(ulong size, ulong rateBytes) =>
        IsExact(size, rateBytes) ? 1.0 : PoissonProbability(size, rateBytes);

    /// <summary>1 − e^(−size/rate) for every size: the pure Poisson process, as jemalloc samples.</summary>
    public static double PoissonProbability(ulong size, ulong rateBytes) =>
        RecordsEverything(rateBytes) ? 1.0 : -double.ExpM1(-(double)size / rateBytes);

    /// <summary>The bytes a sampled allocation of <paramref name="size"/> stands for.</summary>
    public static ulong Weight(ulong size, ulong rateBytes)
    {
        if (IsExact(size, rateBytes) || size == 0) return size;
        double p = Probability(size, rateBytes);
        return (ulong)Math.Round(size / p);
    }

    /// <summary>
    /// Quantiles of the exponential distribution with mean <paramref name="rateBytes"/>, used by
    /// samplers that cannot compute a logarithm (BPF): picking a uniformly random entry draws the
    /// next sampling gap. Entry i is the ((i + 0.5) / count)-quantile.
    /// </summary>
    public static ulong[] GapQuantiles(ulong rateBytes, int count)
    {
        var table = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            double u = (i + 0.5) / count;
            table[i] = (ulong)Math.Max(1, Math.Round(-Math.Log(1 - u) * rateBytes));
        }
        return table;
    }
}

/// <summary>A consumer-side sampler for collectors that see every allocation (ETW, in-process):
/// a countdown of bytes to the next sample, redrawn from the exponential distribution.</summary>
public sealed class PoissonSampler
{
    readonly ulong _rate;
    readonly Random _random;
    double _bytesUntilSample;

    public PoissonSampler(ulong rateBytes, Random? random = null)
    {
        _rate = rateBytes;
        _random = random ?? new Random();
        _bytesUntilSample = NextGap();
    }

    public ulong RateBytes => _rate;

    /// <summary>Decides for one allocation; a sampled one gets its weight.</summary>
    public bool Sample(ulong size, out ulong weight)
    {
        // A large block is always taken and does not touch the countdown: the countdown is
        // memoryless, so the small allocations still see an exponential gap before each of them.
        if (PoissonSampling.IsExact(size, _rate)) { weight = size; return true; }
        _bytesUntilSample -= size;
        if (_bytesUntilSample > 0) { weight = 0; return false; }
        // Memoryless: the overshoot does not carry over, a fresh gap starts after this allocation.
        _bytesUntilSample = NextGap();
        weight = PoissonSampling.Weight(size, _rate);
        return true;
    }

    double NextGap() => -Math.Log(1 - _random.NextDouble()) * _rate;
}
