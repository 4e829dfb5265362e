using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace MemNotebook.Samples.OrderServer;

public sealed record Order(int Id, string Customer, decimal Amount, string[] Lines);

public static class Program
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        if (builder.Configuration["urls"] is null)
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/orders/{count:int}", (int count) => Results.Text(OrderHandler.Render(count), "application/json"));
        app.MapGet("/health", () => "ok");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine($"listening {address}");
        await app.WaitForShutdownAsync();
    }
}

/// <summary>The request handler: the allocations a capture should find under these frames.</summary>
public static class OrderHandler
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string Render(int count)
    {
        var orders = BuildOrders(count);
        var json = new StringBuilder();
        json.Append('[');
        foreach (var order in orders)
        {
            if (json.Length > 1)
                json.Append(',');
            json.Append(System.Text.Json.JsonSerializer.Serialize(order, OrderJson.Default.Order));
        }
        return json.Append(']').ToString();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static List<Order> BuildOrders(int count)
    {
        var orders = new List<Order>(count);
        for (var i = 0; i < count; i++)
        {
            var lines = new string[4];
            for (var j = 0; j < lines.Length; j++)
                lines[j] = $"item-{i}-{j}";
            orders.Add(new Order(i, $"customer-{i % 97}", i * 1.25m, lines));
        }
        return orders;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Order))]
public partial class OrderJson : System.Text.Json.Serialization.JsonSerializerContext;
