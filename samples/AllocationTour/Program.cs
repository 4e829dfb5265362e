using System.Globalization;
using System.Text;
using System.Text.Json;

// A small "sales report" job. Which function allocates the most, and what is still
// alive at the end? `memnb run -- dotnet AllocationTour.dll` then `memnb stats` tells.
// Arguments (optional): the number of orders (200,000) and of cache entries (50,000).
int? Argument(int index, int fallback) =>
    args.Length <= index ? fallback
    : int.TryParse(args[index], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value
    : null;
if (args.Length > 2 || Argument(0, 200_000) is not int orderCount || Argument(1, 50_000) is not int cacheEntries)
{
    Console.Error.WriteLine("usage: AllocationTour [ORDERS] [CACHE_ENTRIES] (positive whole numbers; 200000 and 50000 by default)");
    return 2;
}
var orders = Orders.Generate(orderCount);
var report = Report.Build(orders);
Console.WriteLine($"{report.Lines.Count} report lines, {report.Json.Length:N0} bytes of JSON");

var worker = new Thread(() => Cache.Warm(cacheEntries)) { Name = "cache-warmer" };
worker.Start();
worker.Join();
Console.WriteLine($"cache holds {Cache.Count} entries");
return 0;

public sealed record Order(int Id, string Region, string Product, decimal Amount, DateTime When);

public static class Orders
{
    static readonly string[] Regions = ["north", "south", "east", "west"];
    static readonly string[] Products = ["widget", "gadget", "doohickey", "gizmo", "thingamajig"];

    public static List<Order> Generate(int count)
    {
        var random = new Random(42);
        var list = new List<Order>();
        for (int i = 0; i < count; i++)
            list.Add(new Order(i, Regions[random.Next(Regions.Length)], Products[random.Next(Products.Length)],
                random.Next(1, 100_000) / 100m, new DateTime(2026, 1, 1).AddMinutes(i)));
        return list;
    }
}

public sealed record ReportResult(List<string> Lines, string Json);

public static class Report
{
    public static ReportResult Build(List<Order> orders)
    {
        // The LINQ pipeline: grouping builds many short-lived collections.
        var totals = orders
            .Where(o => o.Amount > 10m)
            .GroupBy(o => (o.Region, o.Product))
            .Select(g => new { g.Key.Region, g.Key.Product, Total = g.Sum(o => o.Amount), Count = g.Count() })
            .OrderByDescending(x => x.Total)
            .ToList();
        var lines = new List<string>();
        foreach (var t in totals)
        {
            var sb = new StringBuilder();
            sb.Append(t.Region).Append('/').Append(t.Product).Append(": ").Append(t.Total.ToString("N2", CultureInfo.InvariantCulture));
            lines.Add(sb.ToString());
        }
        string json = JsonSerializer.Serialize(orders.Take(5_000));
        return new ReportResult(lines, json);
    }
}

public static class Cache
{
    // Grows and is never trimmed: what `leaked_bytes` shows at the end.
    static readonly Dictionary<string, byte[]> Entries = new();

    public static int Count => Entries.Count;

    public static void Warm(int count)
    {
        for (int i = 0; i < count; i++) Entries["key-" + i.ToString(CultureInfo.InvariantCulture)] = new byte[64];
    }
}
