namespace VirtualCluster.FailureDetection.Tests;

/// <summary>φ for a given number of standard deviations, against values of the normal distribution's tail.</summary>
public sealed class NormalTailTests
{
    // -log10(0.5 * erfc(z / sqrt(2))), from the exact erfc (tables of the standard normal distribution).
    [Theory]
    [InlineData(0.0, 0.3010299957)]
    [InlineData(1.0, 0.7995455415)]
    [InlineData(2.0, 1.6430160801)]
    [InlineData(3.0, 2.8696990359)]
    [InlineData(5.0, 6.5426456724)]
    [InlineData(8.0, 15.2061425510)]
    [InlineData(10.0, 23.1180534055)]
    [InlineData(-1.0, 0.0750260130)]
    [InlineData(-3.0, 0.0005866493)]
    public void Phi_matches_the_normal_tail(double z, double expected)
    {
        Assert.Equal(expected, NormalTail.Phi(z), 1e-6);
    }

    [Fact]
    public void Phi_stays_finite_far_in_the_tail_where_one_minus_the_cdf_underflows()
    {
        var phi = NormalTail.Phi(40);
        Assert.True(double.IsFinite(phi));
        Assert.InRange(phi, 349, 350); // P(Z > 40) is about 3.7e-350
    }

    [Fact]
    public void Phi_increases_strictly_with_z()
    {
        var previous = double.NegativeInfinity;
        for (var z = -4.0; z <= 30; z += 0.01)
        {
            var phi = NormalTail.Phi(z);
            Assert.True(phi > previous, $"phi({z}) = {phi} is not above {previous}");
            previous = phi;
        }
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(3.0)]
    [InlineData(8.0)]
    [InlineData(16.0)]
    public void Quantile_is_the_inverse_of_phi(double phi)
    {
        Assert.Equal(phi, NormalTail.Phi(NormalTail.QuantileForPhi(phi)), 1e-9);
    }

    [Fact]
    public void Quantile_for_phi_8_is_about_5_6_standard_deviations()
    {
        Assert.Equal(5.612, NormalTail.QuantileForPhi(8), 3);
    }
}
