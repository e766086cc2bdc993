using System.Text;

namespace Profiler.Symbols.Demangling.Rust;

/// <summary>
/// A v0 identifier: its ASCII characters plus, for non-ASCII names, the Punycode (RFC 3492)
/// instructions for inserting the other characters.
/// </summary>
internal readonly record struct Identifier(string Ascii, string Punycode)
{
    /// <summary>Longer names are not decoded; they are shown in their encoded form instead.</summary>
    private const int MaxDecodedLength = 128;

    public bool IsEmpty => Ascii.Length == 0 && Punycode.Length == 0;

    public override string ToString()
    {
        if (Punycode.Length == 0)
        {
            return Ascii;
        }

        if (TryDecode() is { } decoded)
        {
            return decoded;
        }

        return Ascii.Length == 0 ? $"punycode{{{Punycode}}}" : $"punycode{{{Ascii}-{Punycode}}}";
    }

    private string? TryDecode()
    {
        const int Base = 36;
        const int MinThreshold = 1;
        const int MaxThreshold = 26;
        const int Skew = 38;

        var codePoints = new List<int>();
        foreach (char c in Ascii)
        {
            codePoints.Add(c);
        }

        int damp = 700;
        int bias = 72;
        long index = 0;
        long codePoint = 0x80;
        int position = 0;
        while (position < Punycode.Length)
        {
            // One variable-length delta.
            long delta = 0;
            long weight = 1;
            for (int k = Base; ; k += Base)
            {
                if (position >= Punycode.Length)
                {
                    return null;
                }

                char c = Punycode[position++];
                int digit = c switch
                {
                    >= 'a' and <= 'z' => c - 'a',
                    >= '0' and <= '9' => 26 + (c - '0'),
                    _ => -1,
                };
                if (digit < 0)
                {
                    return null;
                }

                delta += digit * weight;
                int threshold = Math.Clamp(k - bias, MinThreshold, MaxThreshold);
                if (digit < threshold)
                {
                    break;
                }

                weight *= Base - threshold;
                if (delta > int.MaxValue || weight > int.MaxValue)
                {
                    return null;
                }
            }

            int length = codePoints.Count + 1;
            index += delta;
            codePoint += index / length;
            index %= length;
            if (codePoint > 0x10FFFF || codePoint is >= 0xD800 and <= 0xDFFF || length > MaxDecodedLength)
            {
                return null;
            }

            codePoints.Insert((int)index, (int)codePoint);
            index++;

            // Bias adaptation.
            delta /= damp;
            damp = 2;
            delta += delta / length;
            int adaptK = 0;
            while (delta > ((Base - MinThreshold) * MaxThreshold) / 2)
            {
                delta /= Base - MinThreshold;
                adaptK += Base;
            }

            bias = (int)(adaptK + (((Base - MinThreshold + 1) * delta) / (delta + Skew)));
        }

        var output = new StringBuilder();
        foreach (int value in codePoints)
        {
            output.Append(char.ConvertFromUtf32(value));
        }

        return output.ToString();
    }
}
