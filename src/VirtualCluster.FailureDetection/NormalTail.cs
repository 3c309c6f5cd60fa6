namespace VirtualCluster.FailureDetection;

/// <summary>
/// The upper tail of the standard normal distribution in log space, so that φ stays finite and exact far into
/// the tail (a plain 1 − CDF underflows to 0 near 8 standard deviations, which would make φ infinite).
/// </summary>
/// <remarks>
/// P(Z &gt; z) = ½·erfc(z/√2). For x ≥ 0, erfc(x) = t·exp(−x² + p(t)) with t = 1/(1 + x/2) and p a degree-9
/// polynomial fitted by Chebyshev approximation (W. H. Press et al., <i>Numerical Recipes</i>, 2nd ed., §6.2);
/// its relative error is below 1.2·10⁻⁷ everywhere, i.e. below 6·10⁻⁸ in φ. Because the exponent is kept apart,
/// ln erfc(x) = ln t − x² + p(t) is computed without ever forming the tiny value itself.
/// For x &lt; 0, erfc(x) = 2 − erfc(−x).
/// </remarks>
internal static class NormalTail
{
    private static readonly double Ln10 = Math.Log(10);

    /// <summary>log10 P(Z &gt; <paramref name="z"/>) for a standard normal Z.</summary>
    public static double Log10UpperTail(double z)
    {
        if (double.IsNaN(z)) return double.NaN;
        var x = z / Math.Sqrt(2);
        double lnErfc;
        if (x >= 0)
        {
            lnErfc = LnErfcNonNegative(x);
        }
        else
        {
            // erfc(x) is between 1 and 2 here, so forming it directly loses nothing.
            lnErfc = Math.Log(2 - Math.Exp(LnErfcNonNegative(-x)));
        }
        return (lnErfc + Math.Log(0.5)) / Ln10;
    }

    /// <summary>φ for a value <paramref name="z"/> standard deviations above the mean: −log10 P(Z &gt; z).</summary>
    public static double Phi(double z) => -Log10UpperTail(z);

    /// <summary>The z (standard deviations above the mean) at which φ reaches <paramref name="phi"/>.</summary>
    public static double QuantileForPhi(double phi)
    {
        // φ(z) increases strictly with z; bisection to well below a microsecond of any realistic deviation.
        double low = -40, high = 40;
        for (var i = 0; i < 200 && high - low > 1e-12; i++)
        {
            var mid = (low + high) / 2;
            if (Phi(mid) < phi) low = mid;
            else high = mid;
        }
        return (low + high) / 2;
    }

    private static double LnErfcNonNegative(double x)
    {
        var t = 1 / (1 + 0.5 * x);
        var p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
        return Math.Log(t) - x * x + p;
    }
}
