// The ROWS x COLS weight-stationary systolic array with its input skew and output deskew
// (docs/architecture.md "Array (weight stationary)"). KIND 0: temporal-coding PEs
// (fq_pe_temporal), KIND 1: MAC PEs with WBITS-bit weights (fq_pe_mac), KIND 2: bit-serial PEs
// (fq_pe_bitserial) for FineQ-R and INTb weights up to WBITS bits.
// Timing is given by the array controller: beat_start in the first cycle of a beat, beat_end in
// the last (both in every cycle when W = 1), phase = cycle within the beat. A row presented
// with in_valid at beat_start of beat b enters array row i at beat b + i; its COLS results leave
// the deskew at beat_end of beat b + ROWS + COLS - 2 with out_valid. Bubbles (in_valid = 0)
// cost nothing. Weights are written one array row per cycle into weight set w_tag, which
// w_clear first empties; every row carries the tag of the set it multiplies with. The input skew
// and output deskew registers shift only while `advance` (the controller's grid runs: a row is
// in flight or enters). When the grid stops they hold only bubbles (the last row's drain has
// shifted them through) and stale sums nothing reads; `rst` clears the skew, whose valid bits
// would otherwise start as whatever the flip-flops power up with.
`default_nettype none

module fq_array #(
    parameter ROWS  = 4,
    parameter COLS  = 4,
    parameter ACC_W = 32,
    parameter KIND  = 0,
    parameter WBITS = 8,
    parameter RW    = 6,  // bits of a row index (>= clog2(ROWS))
    parameter WSETS = 2,  // weight register sets per PE (pe.weight_sets)
    parameter TW    = (WSETS > 2) ? $clog2(WSETS) : 1,  // bits of a set tag
    // bits of one weight on the write port (bit-serial: FineQ-R's 4 at least)
    parameter QW    = (KIND == 0) ? 4 : (KIND == 1) ? WBITS : (WBITS > 4) ? WBITS : 4
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire                  beat_start,
    input  wire                  beat_end,
    input  wire                  advance,
    input  wire [2:0]            phase,
    input  wire                  in_valid,
    input  wire [TW-1:0]         in_tag,
    input  wire [8*ROWS-1:0]     in_row,     // element i (bits 8i+7:8i) enters array row i
    input  wire                  w_clear,
    input  wire                  w_en,
    input  wire [TW-1:0]         w_tag,
    input  wire [RW-1:0]         w_row,
    input  wire [COLS-1:0]       w_cols,     // columns written (the others keep the cleared 0)
    input  wire [QW*COLS-1:0]    w_data,     // signed weight per column (QW bits each)
    output wire                  out_valid,
    output wire [TW-1:0]         out_tag,
    output wire [ACC_W*COLS-1:0] out_row,
    output wire [ROWS*COLS-1:0]  pulses,     // PE(i, j) adds in this cycle (bit i*COLS + j)
    output wire [ROWS*COLS-1:0]  pe_valid,   // PE(i, j) holds valid data in this cycle
    // PE(i, j) writes its partial sum / activation and tag / valid bit / a weight set this cycle
    output wire [ROWS*COLS-1:0]  psum_we,
    output wire [ROWS*COLS-1:0]  opnd_we,
    output wire [ROWS*COLS-1:0]  valid_we,
    output wire [ROWS*COLS-1:0]  w_we
);
  // Between PEs: activations (with valid and tag) to the right, partial sums down.
  wire [7:0]       act   [0:ROWS-1][0:COLS];
  wire             aval  [0:ROWS-1][0:COLS];
  wire [TW-1:0]    atag  [0:ROWS-1][0:COLS];
  wire [ACC_W-1:0] ps    [0:ROWS][0:COLS-1];
  wire [ACC_W-1:0] bottom_next [0:COLS-1];
  wire             bottom_valid;
  wire [TW-1:0]    bottom_tag;

  // A 1 x 1 array has no chains: rst and advance then drive nothing.
  wire unused_chain_ctrl = &{1'b0, rst, advance};

  genvar i, j;
  generate
    // Input skew: row i sees the row that entered i beats ago. An element is the activation,
    // its set tag and its valid bit: EW bits.
    localparam EW = 9 + TW;
    for (i = 0; i < ROWS; i = i + 1) begin : g_skew
      wire [EW-1:0] entering = {in_valid, in_tag, in_row[8*i +: 8]};
      if (i == 0) begin : g_direct
        assign act[0][0]  = entering[7:0];
        assign aval[0][0] = entering[EW-1];
        assign atag[0][0] = entering[8 +: TW];
      end else begin : g_chain
        reg [EW*i-1:0] chain;  // stage s (bits EW*s+EW-1:EW*s) holds the element of the row s+1 beats old
        if (i == 1) begin : g_one
          always @(posedge clk) begin
            if (rst) chain <= {EW{1'b0}};
            else if (beat_start && advance) chain <= entering;
          end
        end else begin : g_many
          always @(posedge clk) begin
            if (rst) chain <= {(EW*i){1'b0}};
            else if (beat_start && advance) chain <= {chain[EW*(i-1)-1:0], entering};
          end
        end
        assign act[i][0]  = chain[EW*(i-1) +: 8];
        assign aval[i][0] = chain[EW*i-1];
        assign atag[i][0] = chain[EW*(i-1)+8 +: TW];
      end
    end

    for (j = 0; j < COLS; j = j + 1) begin : g_top
      assign ps[0][j] = {ACC_W{1'b0}};
    end

    for (i = 0; i < ROWS; i = i + 1) begin : g_row
      for (j = 0; j < COLS; j = j + 1) begin : g_col
        localparam [RW-1:0] ROW_ID = i;
        wire write = w_en && (w_row == ROW_ID) && w_cols[j];
        wire [TW-1:0] tag_now;
        wire [ACC_W-1:0] psum_next;
        if (KIND == 0) begin : g_temporal
          fq_pe_temporal #(.ACC_W(ACC_W), .WSETS(WSETS)) pe (
              .clk(clk), .beat_start(beat_start), .phase(phase),
              .in_act(act[i][j]), .in_valid(aval[i][j]), .in_tag(atag[i][j]), .in_psum(ps[i][j]),
              .w_clear(w_clear), .w_en(write), .w_tag(w_tag), .w_q(w_data[QW*j +: QW]),
              .act(act[i][j+1]), .valid(aval[i][j+1]), .tag(atag[i][j+1]), .psum(ps[i+1][j]),
              .valid_now(pe_valid[i*COLS+j]), .tag_now(tag_now), .psum_next(psum_next),
              .pulse(pulses[i*COLS+j]), .psum_we(psum_we[i*COLS+j]), .opnd_we(opnd_we[i*COLS+j]),
              .valid_we(valid_we[i*COLS+j]), .w_we(w_we[i*COLS+j]));
        end else if (KIND == 2) begin : g_bitserial
          fq_pe_bitserial #(.ACC_W(ACC_W), .WBITS(WBITS), .QW(QW), .WSETS(WSETS)) pe (
              .clk(clk), .beat_start(beat_start), .phase(phase),
              .in_act(act[i][j]), .in_valid(aval[i][j]), .in_tag(atag[i][j]), .in_psum(ps[i][j]),
              .w_clear(w_clear), .w_en(write), .w_tag(w_tag), .w_q(w_data[QW*j +: QW]),
              .act(act[i][j+1]), .valid(aval[i][j+1]), .tag(atag[i][j+1]), .psum(ps[i+1][j]),
              .valid_now(pe_valid[i*COLS+j]), .tag_now(tag_now), .psum_next(psum_next),
              .pulse(pulses[i*COLS+j]), .psum_we(psum_we[i*COLS+j]), .opnd_we(opnd_we[i*COLS+j]),
              .valid_we(valid_we[i*COLS+j]), .w_we(w_we[i*COLS+j]));
        end else begin : g_mac
          fq_pe_mac #(.ACC_W(ACC_W), .WBITS(WBITS), .WSETS(WSETS)) pe (
              .clk(clk), .beat_start(beat_start), .phase(phase),
              .in_act(act[i][j]), .in_valid(aval[i][j]), .in_tag(atag[i][j]), .in_psum(ps[i][j]),
              .w_clear(w_clear), .w_en(write), .w_tag(w_tag), .w_q(w_data[QW*j +: QW]),
              .act(act[i][j+1]), .valid(aval[i][j+1]), .tag(atag[i][j+1]), .psum(ps[i+1][j]),
              .valid_now(pe_valid[i*COLS+j]), .tag_now(tag_now), .psum_next(psum_next),
              .pulse(pulses[i*COLS+j]), .psum_we(psum_we[i*COLS+j]), .opnd_we(opnd_we[i*COLS+j]),
              .valid_we(valid_we[i*COLS+j]), .w_we(w_we[i*COLS+j]));
        end
        if (i == ROWS - 1) begin : g_bottom
          assign bottom_next[j] = psum_next;
          if (j == COLS - 1) begin : g_corner
            assign bottom_valid = pe_valid[i*COLS+j];
            assign bottom_tag   = tag_now;
          end
        end
      end
    end

    // Output deskew: column j waits COLS - 1 - j beats for the last column of its row.
    for (j = 0; j < COLS; j = j + 1) begin : g_deskew
      if (j == COLS - 1) begin : g_direct
        assign out_row[ACC_W*j +: ACC_W] = bottom_next[j];
      end else begin : g_chain
        localparam D = COLS - 1 - j;
        reg [ACC_W*D-1:0] chain;
        if (D == 1) begin : g_one
          always @(posedge clk) if (beat_end && advance) chain <= bottom_next[j];
        end else begin : g_many
          always @(posedge clk) if (beat_end && advance) chain <= {chain[ACC_W*(D-1)-1:0], bottom_next[j]};
        end
        assign out_row[ACC_W*j +: ACC_W] = chain[ACC_W*D-1 -: ACC_W];
      end
    end
  endgenerate

  assign out_valid = beat_end && bottom_valid;
  assign out_tag   = bottom_tag;
endmodule

`default_nettype wire
