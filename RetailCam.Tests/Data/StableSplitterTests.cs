using RetailCam.Engine.Data;

namespace RetailCam.Tests.Data;

public class StableSplitterTests
{
    private static string[] Files(string category, int from, int count) =>
        Enumerable.Range(from, count).Select(i => $"{category}/{i:D5}.png").ToArray();

    [Fact]
    public void Adding_files_never_moves_files_already_assigned()
    {
        var splitter = StableSplitter.Default;
        var before = Files("Apparel/Tops/Shirt", 0, 500).ToDictionary(f => f, splitter.Assign);
        // A new, separately constructed splitter with many more files around.
        var again = new StableSplitter(0.8, 0.1);
        var after = Files("Apparel/Tops/Shirt", 0, 2000).Concat(Files("Bags", 0, 1000)).ToDictionary(f => f, again.Assign);
        Assert.All(before, pair => Assert.Equal(pair.Value, after[pair.Key]));
    }

    [Fact]
    public void Every_class_gets_roughly_80_10_10()
    {
        foreach (var category in new[] { "Footwear/Sandal", "Footwear/Sneaker", "Accessories/Bag" })
        {
            var splits = Files(category, 0, 4000).Select(StableSplitter.Default.Assign).ToArray();
            double Share(DatasetSplit s) => splits.Count(x => x == s) / (double)splits.Length;
            // 4000 draws: the standard error of a 10 % share is 0.47 %, of 80 % it is 0.63 %.
            Assert.InRange(Share(DatasetSplit.Train), 0.78, 0.82);
            Assert.InRange(Share(DatasetSplit.Validation), 0.085, 0.115);
            Assert.InRange(Share(DatasetSplit.Test), 0.085, 0.115);
        }
    }

    [Fact]
    public void Assignment_is_a_fixed_function_of_the_path()
    {
        // Pinned values: a change of hash or of the position rule would reshuffle every dataset.
        Assert.Equal(StableSplitter.Position("Shoes/d.png"), StableSplitter.Position("Shoes\\d.png"));
        Assert.NotEqual(StableSplitter.Position("Shoes/d.png"), StableSplitter.Position("Shoes/D.png"));
        var pinned = Enumerable.Range(0, 40).Select(i => (int)StableSplitter.Default.Assign($"x/{i}.png"));
        Assert.Equal(PinnedSplits, string.Concat(pinned));
    }

    // Computed independently (Python hashlib): top 53 bits of SHA-256 of the UTF-8 path / 2^53,
    // < 0.8 train (0), < 0.9 validation (1), else test (2).
    private const string PinnedSplits = "0000000010000000001120000000000011000200";

    [Fact]
    public void Fractions_that_do_not_fit_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StableSplitter(0.9, 0.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StableSplitter(-0.1, 0.1));
    }
}
