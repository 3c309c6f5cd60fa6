// A tiny web service for the sample specs: answers "/" with who it is and "/health" with "ok".
// The process driver passes the assigned port in PORT.
var port = Environment.GetEnvironmentVariable("PORT") ?? "8080";
var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseUrls($"http://0.0.0.0:{port}");
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();
var instance = Environment.GetEnvironmentVariable("VC_INSTANCE_ID") ?? "local";
var node = Environment.GetEnvironmentVariable("VC_NODE_NAME") ?? Environment.MachineName;
var greeting = Environment.GetEnvironmentVariable("GREETING") ?? "hello";
app.MapGet("/", () => $"{greeting} from {instance} on {node}\n");
app.MapGet("/health", () => "ok\n");
Console.WriteLine($"HelloService {instance} listening on port {port}");
app.Run();
