// Loop-form experiment: the temporal fq_array (KIND 0) with every PE, skew stage and deskew stage
// as an element of an unpacked array, updated by loops, so that Verilator emits loops over arrays
// instead of one copy of each statement per instance.
`default_nettype none
module fqy_array #(
    parameter ROWS  = 4, parameter COLS  = 4, parameter ACC_W = 32, parameter RW = 6,
    parameter WSETS = 2,
    parameter TW    = (WSETS > 2) ? $clog2(WSETS) : 1, parameter QW = 4
) (
    input  wire clk, input wire rst, input wire beat_start, input wire beat_end, input wire advance,
    input  wire [2:0] phase, input wire in_valid, input wire [TW-1:0] in_tag,
    input  wire [8*ROWS-1:0] in_row, input wire w_clear, input wire w_en, input wire [TW-1:0] w_tag,
    input  wire [RW-1:0] w_row, input wire [COLS-1:0] w_cols, input wire [QW*COLS-1:0] w_data,
    output wire out_valid, output wire [TW-1:0] out_tag, output reg [ACC_W*COLS-1:0] out_row,
    output reg [ROWS*COLS-1:0] pulses, output reg [ROWS*COLS-1:0] pe_valid,
    output reg [ROWS*COLS-1:0] psum_we, output reg [ROWS*COLS-1:0] opnd_we,
    output reg [ROWS*COLS-1:0] valid_we, output reg [ROWS*COLS-1:0] w_we,
    output wire [ROWS-1:0] skew_we, output wire [COLS-1:0] deskew_we,
    output wire skew_shift, output wire deskew_shift
);
  localparam N = ROWS * COLS;
  localparam NS = ROWS * (ROWS - 1) / 2;   // skew stages: row i has i
  localparam ND = COLS * (COLS - 1) / 2;   // deskew stages: column j has COLS - 1 - j
  reg [7:0]       act_r  [0:N-1];
  reg             val_r  [0:N-1];
  reg [TW-1:0]    tag_r  [0:N-1];
  reg [ACC_W-1:0] psum_r [0:N-1];
  reg [2:0]       mag_r  [0:N*WSETS-1];
  reg             neg_r  [0:N*WSETS-1];
  reg [7:0]       sk     [0:NS-1];
  reg [ACC_W-1:0] dk     [0:ND-1];
  reg [ROWS-2:0]  hv;
  reg [TW*(ROWS-1)-1:0] ht;
  reg [COLS-3:0]  hb;
  reg [ACC_W-1:0] bottom [0:COLS-1];   // the bottom row's next sums
  reg             corner_valid;
  reg [TW-1:0]    corner_tag;

  assign skew_shift = beat_start && advance;
  assign deskew_shift = beat_end && advance;
  wire [ROWS-2:0] skew_in = {hv[ROWS-3:0], in_valid};
  assign skew_we = {1'b0, skew_in & {(ROWS-1){skew_shift}}};
  wire [COLS-2:0] vd = {hb, pe_valid[(ROWS-1)*COLS]};
  assign deskew_we = {1'b0, vd & {(COLS-1){deskew_shift}}};
  assign out_valid = beat_end && corner_valid;
  assign out_tag = corner_tag;

  integer i, j, k, b;
  reg [7:0] a; reg v; reg [TW-1:0] t; reg [ACC_W-1:0] p; reg [2:0] m; reg ng; reg pl; reg wr;
  always @(*) begin
    for (j = 0; j < COLS; j = j + 1) bottom[j] = {ACC_W{1'b0}};
    corner_valid = 1'b0; corner_tag = {TW{1'b0}};
    k = 0;
    for (i = 0; i < ROWS; i = i + 1) begin
      for (j = 0; j < COLS; j = j + 1) begin
        if (!beat_start) begin
          a = act_r[k]; v = val_r[k]; t = tag_r[k]; p = psum_r[k];
        end else if (j == 0) begin
          a = (i == 0) ? in_row[7:0] : sk[i * (i - 1) / 2 + i - 1];
          v = (i == 0) ? in_valid : hv[i - 1];
          t = (i == 0) ? in_tag : ht[TW * (i - 1) +: TW];
          p = {ACC_W{1'b0}};
        end else begin
          a = act_r[k - 1]; v = val_r[k - 1]; t = tag_r[k - 1];
          p = (i == 0) ? {ACC_W{1'b0}} : psum_r[k - COLS];
        end
        if (j == 0 && beat_start && i != 0) p = psum_r[k - COLS];
        m = mag_r[k * WSETS + t]; ng = neg_r[k * WSETS + t];
        pl = v && (phase < m);
        if (pl) p = ng ? p - {{(ACC_W-8){a[7]}}, a} : p + {{(ACC_W-8){a[7]}}, a};
        pulses[k] = pl; pe_valid[k] = v;
        opnd_we[k] = beat_start && (j == 0 ? ((i == 0) ? in_valid : hv[i - 1]) : val_r[k - 1]);
        valid_we[k] = beat_start && ((j == 0 ? ((i == 0) ? in_valid : hv[i - 1]) : val_r[k - 1]) || val_r[k]);
        psum_we[k] = opnd_we[k] || pl;
        w_we[k] = w_clear || (w_en && w_row == i[RW-1:0] && w_cols[j]);
        if (i == ROWS - 1) bottom[j] = p;
        if (i == ROWS - 1 && j == COLS - 1) begin corner_valid = v; corner_tag = t; end
        k = k + 1;
      end
    end
    b = 0;
    for (j = 0; j < COLS - 1; j = j + 1) begin
      out_row[ACC_W * j +: ACC_W] = dk[b + COLS - 2 - j];
      b = b + COLS - 1 - j;
    end
    out_row[ACC_W * (COLS - 1) +: ACC_W] = bottom[COLS - 1];
  end

  // Blocking updates in an order that reads every neighbour before it is overwritten: PEs from
  // the last to the first, stages from the last to the first.
  integer i2, j2, k2, b2;
  reg [7:0] a2; reg v2; reg [TW-1:0] t2; reg [ACC_W-1:0] p2; reg [2:0] m2; reg ng2; reg pl2; reg wr2;
  reg [2:0] wa;
  always @(posedge clk) begin
    k2 = N - 1;
    for (i2 = ROWS - 1; i2 >= 0; i2 = i2 - 1) begin
      for (j2 = COLS - 1; j2 >= 0; j2 = j2 - 1) begin
        if (!beat_start) begin a2 = act_r[k2]; v2 = val_r[k2]; t2 = tag_r[k2]; p2 = psum_r[k2]; end
        else if (j2 == 0) begin
          a2 = (i2 == 0) ? in_row[7:0] : sk[i2 * (i2 - 1) / 2 + i2 - 1];
          v2 = (i2 == 0) ? in_valid : hv[i2 - 1];
          t2 = (i2 == 0) ? in_tag : ht[TW * (i2 - 1) +: TW];
          p2 = (i2 == 0) ? {ACC_W{1'b0}} : psum_r[k2 - COLS];
        end else begin
          a2 = act_r[k2 - 1]; v2 = val_r[k2 - 1]; t2 = tag_r[k2 - 1];
          p2 = (i2 == 0) ? {ACC_W{1'b0}} : psum_r[k2 - COLS];
        end
        m2 = mag_r[k2 * WSETS + t2]; ng2 = neg_r[k2 * WSETS + t2];
        pl2 = v2 && (phase < m2);
        if (pl2) p2 = ng2 ? p2 - {{(ACC_W-8){a2[7]}}, a2} : p2 + {{(ACC_W-8){a2[7]}}, a2};
        if (opnd_we[k2]) begin act_r[k2] = a2; tag_r[k2] = t2; end
        if (valid_we[k2]) val_r[k2] = v2;
        if (psum_we[k2]) psum_r[k2] = p2;
        wr2 = w_en && w_row == i2[RW-1:0] && w_cols[j2];
        if (w_clear || wr2) begin
          wa = w_data[QW * j2 + 3] ? 3'd0 - w_data[QW * j2 +: 3] : w_data[QW * j2 +: 3];
          mag_r[k2 * WSETS + w_tag] = wr2 ? wa : 3'd0;
          neg_r[k2 * WSETS + w_tag] = wr2 & w_data[QW * j2 + 3];
        end
        k2 = k2 - 1;
      end
    end
    // skew: row i2's stage s (s < i2) at i2(i2-1)/2 + s
    for (i2 = ROWS - 1; i2 >= 1; i2 = i2 - 1)
      for (j2 = i2 - 1; j2 >= 0; j2 = j2 - 1)
        if (skew_we[j2]) sk[i2 * (i2 - 1) / 2 + j2] = (j2 == 0) ? in_row[8 * i2 +: 8] : sk[i2 * (i2 - 1) / 2 + j2 - 1];
    // deskew: column j2's stage s (s < COLS-1-j2) at sum_{c<j2}(COLS-1-c) + s
    b2 = 0;
    for (j2 = 0; j2 < COLS - 1; j2 = j2 + 1) begin
      for (i2 = COLS - 2 - j2; i2 >= 0; i2 = i2 - 1)
        if (deskew_we[j2 + i2]) dk[b2 + i2] = (i2 == 0) ? bottom[j2] : dk[b2 + i2 - 1];
      b2 = b2 + COLS - 1 - j2;
    end
    if (rst) begin hv <= 0; hb <= 0; end
    else begin
      if (skew_shift) hv <= {hv[ROWS-3:0], in_valid};
      if (deskew_shift) hb <= {hb[COLS-4:0], vd[0]};
    end
    if (skew_shift) ht <= {ht[TW*(ROWS-2)-1:0], in_tag};
  end
endmodule
`default_nettype wire
